package s3door

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/stageflow/stageflow/shared/auth/sigv4"
)

// Values of X-Amz-Content-Sha256 besides the hex SHA-256 of the payload.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// maxSignedChunk bounds the chunks of signed streaming uploads, which are
// held in memory until their signature is checked (the SDKs send 64 KiB to
// 8 MiB).
const maxSignedChunk = 16 << 20

// checksumAlgorithms are the flexible checksums S3 clients send as
// x-amz-checksum-<algorithm> headers or trailers, by header name.
var checksumAlgorithms = map[string]func() hash.Hash{
	"x-amz-checksum-crc32":  func() hash.Hash { return crc32.NewIEEE() },
	"x-amz-checksum-crc32c": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	// CRC-64/NVME; crc64 takes the reversed polynomial and, like it,
	// inverts the register before and after.
	"x-amz-checksum-crc64nvme": func() hash.Hash { return crc64.New(crc64NVME) },
	"x-amz-checksum-sha1":      sha1.New,
	"x-amz-checksum-sha256":    sha256.New,
	"x-amz-checksum-sha512":    sha512.New,
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// payloadState records the first failure found in a request body, which
// guardWriter then reports instead of gofakes3's response.
type payloadState struct {
	mu  sync.Mutex
	err *apiError
}

func (s *payloadState) fail(e *apiError) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = e
	}
	return s.err
}

func (s *payloadState) failure() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// check is a digest a body must have.
type check struct {
	name string
	h    hash.Hash
	want []byte
	err  *apiError // reported when the digest differs
}

func (c *check) ok() bool { return bytes.Equal(c.h.Sum(nil), c.want) }

func badDigest(name string) *apiError {
	return &apiError{http.StatusBadRequest, "BadDigest", "The " + name + " you specified did not match the calculated checksum.", nil}
}

// preparePayload replaces r.Body by a reader that fails unless the body
// matches what the request declares: the SHA-256 in X-Amz-Content-Sha256 and
// any x-amz-checksum-* header of an upload. An aws-chunked body
// (X-Amz-Content-Sha256 STREAMING-*) is decoded, its chunk and trailer
// signatures and trailing checksums checked, and the request rewritten as a
// plain upload of the decoded bytes.
func (h *handler) preparePayload(r *http.Request, sig *signature, st *payloadState) *apiError {
	mode := sig.payloadHash
	checks, aerr := headerChecksums(r)
	if aerr != nil {
		return aerr
	}
	switch mode {
	case unsignedPayload:
	case streamingUnsignedTrailer, streamingSigned, streamingSignedTrailer:
		return h.decodeChunked(r, sig, st, mode, checks)
	default:
		want, err := hex.DecodeString(mode)
		if err != nil || len(want) != sha256.Size {
			return &apiError{http.StatusBadRequest, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or the hex SHA-256 of the payload", nil}
		}
		checks = append(checks, &check{
			name: "x-amz-content-sha256",
			h:    sha256.New(),
			want: want,
			err:  &apiError{http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", nil},
		})
	}
	if len(checks) > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{&verifyingReader{r: r.Body, checks: checks, st: st}, r.Body}
	}
	return nil
}

// headerChecksums returns the checks of the x-amz-checksum-* headers of an
// upload (PUT with a body, not a copy). Other requests may carry such
// headers for other purposes, such as the checksum of the whole object in
// CompleteMultipartUpload.
func headerChecksums(r *http.Request) ([]*check, *apiError) {
	if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") != "" {
		return nil, nil
	}
	var checks []*check
	for name, newHash := range checksumAlgorithms {
		v := r.Header.Get(name)
		if v == "" {
			continue
		}
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidRequest", "Value for " + name + " header is invalid.", nil}
		}
		checks = append(checks, &check{name: name, h: newHash(), want: want, err: badDigest(name)})
	}
	return checks, nil
}

// verifyingReader hashes what it reads and, at the end, fails unless every
// check holds.
type verifyingReader struct {
	r      io.Reader
	checks []*check
	st     *payloadState
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	for _, c := range v.checks {
		c.h.Write(p[:n])
	}
	if err == io.EOF {
		for _, c := range v.checks {
			if !c.ok() {
				return n, v.st.fail(c.err)
			}
		}
	}
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// decodeChunked sets up the decoding of an aws-chunked body.
func (h *handler) decodeChunked(r *http.Request, sig *signature, st *payloadState, mode string, checks []*check) *apiError {
	if r.Method != http.MethodPut {
		return &apiError{http.StatusBadRequest, "InvalidRequest", "aws-chunked bodies are only accepted for uploads", nil}
	}
	decoded, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || decoded < 0 {
		return &apiError{http.StatusLengthRequired, "MissingContentLength", "aws-chunked uploads need a valid x-amz-decoded-content-length header", nil}
	}
	c := &chunkReader{
		br:          bufio.NewReader(r.Body),
		st:          st,
		signed:      mode != streamingUnsignedTrailer,
		trailer:     mode != streamingSigned,
		decodedWant: decoded,
		checks:      checks,
		trailers:    map[string]hash.Hash{},
	}
	if c.signed {
		c.sig = sig
		c.prev = sig.seed
		c.key = sigv4.SigningKey(sig.secret, sig.time.Format(scopeDateFmt), sig.region, "s3")
	}
	for _, name := range strings.Split(r.Header.Get("X-Amz-Trailer"), ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		newHash, ok := checksumAlgorithms[name]
		if !ok || !c.trailer {
			return &apiError{http.StatusBadRequest, "InvalidRequest", "unsupported trailer " + name, nil}
		}
		c.trailers[name] = newHash()
	}

	r.Body = readCloser{c, r.Body}
	r.ContentLength = decoded
	r.Header.Set("Content-Length", strconv.FormatInt(decoded, 10))
	r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("X-Amz-Trailer")
	var enc []string
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				enc = append(enc, e)
			}
		}
	}
	r.Header.Del("Content-Encoding")
	if len(enc) > 0 {
		r.Header.Set("Content-Encoding", strings.Join(enc, ","))
	}
	return nil
}

// chunkReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//	[<trailer>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
//
// checking chunk signatures (chained from the request's signature), the
// trailer signature, the declared trailing checksums, the checksums of the
// request's headers and the decoded length. Signed chunks are released only
// once their signature is checked.
type chunkReader struct {
	br      *bufio.Reader
	st      *payloadState
	signed  bool // chunks carry signatures
	trailer bool // trailers may follow the last chunk
	sig     *signature
	key     []byte // signing key
	prev    string // previous signature in the chain

	trailers    map[string]hash.Hash // declared trailing checksums
	checks      []*check             // checksums from headers
	decodedWant int64
	decoded     int64

	remaining int64  // unread bytes of the current unsigned chunk
	needCRLF  bool   // the current unsigned chunk's data is followed by CRLF
	buf       []byte // checked bytes of the current signed chunk not yet returned
	chunk     []byte // buffer for signed chunks
	done      bool
	err       error
}

func (c *chunkReader) malformed(msg string) error {
	c.err = c.st.fail(&apiError{http.StatusBadRequest, "IncompleteBody", "malformed aws-chunked body: " + msg, nil})
	return c.err
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.buf) > 0 {
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			c.hash(p[:n])
			return n, nil
		}
		if c.remaining > 0 {
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			n, err := c.br.Read(p)
			c.remaining -= int64(n)
			c.hash(p[:n])
			if err == io.EOF && c.remaining > 0 {
				return n, c.malformed("truncated chunk")
			}
			if err != nil && err != io.EOF {
				c.err = err
			}
			return n, nil
		}
		if c.done {
			return 0, io.EOF
		}
		c.next()
	}
}

func (c *chunkReader) hash(b []byte) {
	for _, h := range c.trailers {
		h.Write(b)
	}
	for _, ch := range c.checks {
		ch.h.Write(b)
	}
}

// readLine reads a CRLF-terminated line and returns it without the CRLF.
// At the end of the body it returns io.EOF with what it read.
func (c *chunkReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("line too long")
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return string(line), err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", errors.New("line not terminated by CRLF")
	}
	return string(line[:len(line)-2]), nil
}

// next reads the next chunk header (and, for signed chunks, the chunk) and
// after the last chunk the trailers.
func (c *chunkReader) next() {
	if c.needCRLF {
		var crlf [2]byte
		if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
			c.malformed("chunk data not followed by CRLF")
			return
		}
		c.needCRLF = false
	}
	line, err := c.readLine()
	if err != nil {
		c.malformed("bad chunk header")
		return
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(sizeHex, 16, 64)
	if err != nil || size < 0 {
		c.malformed("bad chunk size")
		return
	}
	if size > c.decodedWant-c.decoded {
		c.malformed("more data than x-amz-decoded-content-length")
		return
	}
	c.decoded += size
	if c.signed {
		chunkSig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			c.malformed("chunk without chunk-signature")
			return
		}
		if size > maxSignedChunk {
			c.malformed("chunk too large")
			return
		}
		if int64(cap(c.chunk)) < size {
			c.chunk = make([]byte, size)
		}
		data := c.chunk[:size]
		if _, err := io.ReadFull(c.br, data); err != nil {
			c.malformed("truncated chunk")
			return
		}
		if size > 0 {
			var crlf [2]byte
			if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
				c.malformed("chunk data not followed by CRLF")
				return
			}
		}
		dataHash := sha256.Sum256(data)
		want := c.chainSignature("AWS4-HMAC-SHA256-PAYLOAD", emptySHA256, hex.EncodeToString(dataHash[:]))
		if !constantEqual(want, chunkSig) {
			c.err = c.st.fail(&apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided.", nil})
			return
		}
		c.prev = chunkSig
		c.buf = data
	} else {
		c.remaining = size
		c.needCRLF = size > 0
	}
	if size == 0 {
		c.finish()
	}
}

// chainSignature signs a link of the chunk signature chain.
func (c *chunkReader) chainSignature(algorithm string, hashes ...string) string {
	sts := strings.Join(append([]string{algorithm, c.sig.amzDate, c.sig.scope, c.prev}, hashes...), "\n")
	return hex.EncodeToString(sigv4.HMAC(c.key, sts))
}

// finish reads the trailers after the last chunk and checks the body.
func (c *chunkReader) finish() {
	var canonical strings.Builder // the trailers as signed: name:value\n each
	var trailerSig string
	seen := map[string]bool{}
	for {
		line, err := c.readLine()
		if err == io.EOF && line == "" {
			break // the final CRLF may be missing
		}
		if err != nil {
			c.malformed("bad trailer")
			return
		}
		if line == "" {
			break
		}
		if !c.trailer || trailerSig != "" {
			c.malformed("unexpected trailer")
			return
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if !ok {
			c.malformed("bad trailer")
			return
		}
		if name == "x-amz-trailer-signature" {
			if !c.signed {
				c.malformed("trailer signature in an unsigned upload")
				return
			}
			trailerSig = value
			continue
		}
		h, declared := c.trailers[name]
		if !declared || seen[name] {
			c.malformed("undeclared trailer " + name)
			return
		}
		seen[name] = true
		canonical.WriteString(name + ":" + value + "\n")
		want, err := base64.StdEncoding.DecodeString(value)
		if err != nil || !bytes.Equal(h.Sum(nil), want) {
			c.err = c.st.fail(badDigest(name))
			return
		}
	}
	if len(seen) != len(c.trailers) {
		c.malformed("missing trailer")
		return
	}
	if c.signed && c.trailer && len(seen) > 0 {
		sum := sha256.Sum256([]byte(canonical.String()))
		if trailerSig == "" || !constantEqual(c.chainSignature("AWS4-HMAC-SHA256-TRAILER", hex.EncodeToString(sum[:])), trailerSig) {
			c.err = c.st.fail(&apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The trailer signature we calculated does not match the signature you provided.", nil})
			return
		}
	}
	if c.decoded != c.decodedWant {
		c.malformed("less data than x-amz-decoded-content-length")
		return
	}
	for _, ch := range c.checks {
		if !ch.ok() {
			c.err = c.st.fail(ch.err)
			return
		}
	}
	c.done = true
}
