package s3door

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// awsChunked encodes payload in chunks of chunkSize the way mode does, with
// a CRC32 trailer in the trailer modes. sign returns the signature of a
// chunk (nil for unsigned modes) and trailerSig that of the trailer text.
func awsChunked(payload []byte, chunkSize int, mode, crc string, sign func([]byte) string, trailerSig func(prev, text string) string) []byte {
	var b bytes.Buffer
	signed := mode != streamingUnsignedTrailer
	last := ""
	for i := 0; ; i += chunkSize {
		chunk := payload[min(i, len(payload)):min(i+chunkSize, len(payload))]
		if signed {
			last = sign(chunk)
			fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(chunk), last)
		} else {
			fmt.Fprintf(&b, "%x\r\n", len(chunk))
		}
		if len(chunk) == 0 {
			break
		}
		b.Write(chunk)
		b.WriteString("\r\n")
	}
	if mode != streamingSigned {
		text := "x-amz-checksum-crc32:" + crc + "\n"
		b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
		if signed {
			b.WriteString("x-amz-trailer-signature:" + trailerSig(last, text) + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func testHMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func flip(s string) string {
	if s[0] == '0' {
		return "1" + s[1:]
	}
	return "0" + s[1:]
}

// streamingRequest returns an aws-chunked upload of payload to url, signed
// with creds, spoilt as bad says.
func streamingRequest(t *testing.T, url string, creds Credentials, payload []byte, mode, bad string) *http.Request {
	t.Helper()
	const chunkSize = 64 << 10
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(payload))
	crc := base64.StdEncoding.EncodeToString(sum[:])
	if bad == "checksum" {
		crc = "AAAAAA=="
	}
	placeholder := func([]byte) string { return strings.Repeat("0", 64) }
	body := awsChunked(payload, chunkSize, mode, crc, placeholder, func(string, string) string { return strings.Repeat("0", 64) })

	decoded := len(payload)
	if bad == "length" {
		decoded++
	}
	hdr := http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {strconv.Itoa(decoded)},
	}
	if mode != streamingSigned {
		hdr.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	at := time.Now()
	req := signed(t, "PUT", url, body, creds, at, mode, hdr)

	// Sign the chunks, chained from the request's signature.
	_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	seedBytes, _ := hex.DecodeString(seed)
	awsCreds := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}
	ss := v4.NewStreamSigner(awsCreds, "s3", "us-east-1", seedBytes)
	n := 0
	sign := func(chunk []byte) string {
		sig, err := ss.GetSignature(context.Background(), nil, chunk, at)
		if err != nil {
			t.Fatal(err)
		}
		s := hex.EncodeToString(sig)
		if n == 1 && bad == "chunk signature" {
			s = flip(s)
		}
		n++
		return s
	}
	amzDate := req.Header.Get("X-Amz-Date")
	date := amzDate[:8]
	trailerSig := func(prev, text string) string {
		k := testHMAC([]byte("AWS4"+creds.SecretAccessKey), date)
		k = testHMAC(k, "us-east-1")
		k = testHMAC(k, "s3")
		k = testHMAC(k, "aws4_request")
		h := sha256.Sum256([]byte(text))
		s := hex.EncodeToString(testHMAC(k, strings.Join([]string{"AWS4-HMAC-SHA256-TRAILER", amzDate, date + "/us-east-1/s3/aws4_request", prev, hex.EncodeToString(h[:])}, "\n")))
		if bad == "trailer signature" {
			s = flip(s)
		}
		return s
	}
	real := awsChunked(payload, chunkSize, mode, crc, sign, trailerSig)
	if len(real) != len(body) {
		t.Fatalf("encoded length %d, want %d", len(real), len(body))
	}
	if bad == "data" {
		// Change a byte of the second chunk after signing.
		i := bytes.Index(real, payload[chunkSize:chunkSize+16])
		real[i] ^= 1
	}
	req.Body = io.NopCloser(bytes.NewReader(real))
	return req
}

func TestStreamingUploads(t *testing.T) {
	payload := randomBytes(200 << 10)
	tests := []struct {
		mode, bad  string
		wantStatus int
		wantCode   string
	}{
		{streamingSigned, "", http.StatusOK, ""},
		{streamingSigned, "chunk signature", http.StatusForbidden, "SignatureDoesNotMatch"},
		{streamingSigned, "data", http.StatusForbidden, "SignatureDoesNotMatch"},
		{streamingSigned, "length", http.StatusBadRequest, "IncompleteBody"},
		{streamingSignedTrailer, "", http.StatusOK, ""},
		{streamingSignedTrailer, "chunk signature", http.StatusForbidden, "SignatureDoesNotMatch"},
		{streamingSignedTrailer, "data", http.StatusForbidden, "SignatureDoesNotMatch"},
		{streamingSignedTrailer, "checksum", http.StatusBadRequest, "BadDigest"},
		{streamingSignedTrailer, "trailer signature", http.StatusForbidden, "SignatureDoesNotMatch"},
		{streamingUnsignedTrailer, "", http.StatusOK, ""},
		{streamingUnsignedTrailer, "data", http.StatusBadRequest, "BadDigest"},
		{streamingUnsignedTrailer, "checksum", http.StatusBadRequest, "BadDigest"},
		{streamingUnsignedTrailer, "length", http.StatusBadRequest, "IncompleteBody"},
	}
	e := newEnv(t, false)
	for i, tt := range tests {
		t.Run(tt.mode+"/"+tt.bad, func(t *testing.T) {
			key := fmt.Sprintf("stream/%d/A.zip", i)
			if _, err := e.store.PutKey(context.Background(), key, strings.NewReader("old verified value")); err != nil {
				t.Fatal(err)
			}
			req := streamingRequest(t, e.srv.URL+"/"+testBucket+"/"+key, e.creds, payload, tt.mode, tt.bad)
			status, code, body := do(t, e.srv.Client(), req)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("%d %q, want %d %q: %s", status, code, tt.wantStatus, tt.wantCode, body)
			}
			want := payload
			if tt.bad != "" {
				want = []byte("old verified value")
			}
			if got, _ := os.ReadFile(e.path(key)); !bytes.Equal(got, want) {
				t.Errorf("file holds %d bytes, want %d", len(got), len(want))
			}
		})
	}
}
