package s3door

import (
	"crypto/md5"
	"crypto/rand"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// uploadMaxAge is how long an unfinished multipart upload is kept.
const uploadMaxAge = 24 * time.Hour

// multipart keeps multipart uploads: their list in memory, their parts as
// files in a temporary folder made when the first upload starts and removed
// when the last one ends. Completing an upload concatenates its parts into
// the object's file. Uploads left unfinished are dropped after uploadMaxAge;
// all are lost on restart.
type multipart struct {
	b   *backend
	now func() time.Time

	mu      sync.Mutex
	dir     string // the parts folder, "" when there are no uploads
	uploads map[gofakes3.UploadID]*upload
}

type upload struct {
	id         gofakes3.UploadID
	key        string
	meta       map[string]string
	initiated  time.Time
	parts      map[int]*part
	completing bool
}

type part struct {
	file     string
	size     int64
	etag     string // quoted MD5 digest
	modified time.Time
}

func newMultipart(b *backend) *multipart {
	return &multipart{b: b, now: time.Now, uploads: map[gofakes3.UploadID]*upload{}}
}

// lookup returns the upload id of bucket/key; m.mu must be held.
func (m *multipart) lookup(bucket, key string, id gofakes3.UploadID) (*upload, error) {
	if err := m.b.checkBucket(bucket); err != nil {
		return nil, err
	}
	u, ok := m.uploads[id]
	if !ok || u.key != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

// drop forgets an upload and returns its part files to remove; m.mu must be
// held.
func (m *multipart) drop(u *upload) []string {
	delete(m.uploads, u.id)
	var files []string
	for _, p := range u.parts {
		files = append(files, p.file)
	}
	if len(m.uploads) == 0 && m.dir != "" {
		// Nothing is being uploaded: remove the folder, with any part
		// being written for an upload that has just ended.
		files = []string{m.dir}
		m.dir = ""
	}
	return files
}

func removeFiles(files []string) {
	for _, f := range files {
		os.RemoveAll(f)
	}
}

func (b *backend) CreateMultipartUpload(bucket, key string, meta map[string]string) (gofakes3.UploadID, error) {
	if err := b.checkBucket(bucket); err != nil {
		return "", err
	}
	if !validKey(key) {
		return "", invalidKey(key)
	}
	m := b.mp
	m.mu.Lock()
	defer m.mu.Unlock()
	var stale []string
	for _, u := range m.uploads {
		if !u.completing && m.now().Sub(u.initiated) > uploadMaxAge {
			stale = append(stale, m.drop(u)...)
		}
	}
	removeFiles(stale)
	if m.dir == "" {
		dir, err := os.MkdirTemp("", "stageflow-s3-parts-")
		if err != nil {
			return "", err
		}
		m.dir = dir
	}
	u := &upload{
		id:        gofakes3.UploadID(strings.ToLower(rand.Text())),
		key:       key,
		meta:      meta,
		initiated: m.now(),
		parts:     map[int]*part{},
	}
	m.uploads[u.id] = u
	return u.id, nil
}

func (b *backend) UploadPart(bucket, key string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	if partNumber < 1 || partNumber > gofakes3.MaxUploadPartNumber {
		return "", gofakes3.ErrInvalidPart
	}
	m := b.mp
	m.mu.Lock()
	_, err := m.lookup(bucket, key, id)
	dir := m.dir
	m.mu.Unlock()
	if err != nil {
		return "", err
	}

	f, err := os.CreateTemp(dir, "part-")
	if err != nil {
		return "", err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), input)
	if err == nil && n != contentLength {
		err = gofakes3.ErrIncompleteBody
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	p := &part{file: f.Name(), size: n, etag: gofakes3.FormatETag(h.Sum(nil)), modified: m.now()}

	m.mu.Lock()
	u, err := m.lookup(bucket, key, id)
	if err == nil && u.completing {
		err = gofakes3.ErrorMessage(gofakes3.ErrConditionalRequestConflict, "the upload is being completed")
	}
	var old *part
	if err == nil {
		old = u.parts[partNumber]
		u.parts[partNumber] = p
	}
	m.mu.Unlock()
	if err != nil {
		os.Remove(p.file)
		return "", err
	}
	if old != nil {
		os.Remove(old.file)
	}
	return p.etag, nil
}

func (b *backend) ListParts(bucket, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	m := b.mp
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.lookup(bucket, key, id)
	if err != nil {
		return nil, err
	}
	res := &gofakes3.ListMultipartUploadPartsResult{
		Bucket:           bucket,
		Key:              key,
		UploadID:         id,
		StorageClass:     gofakes3.StorageStandard,
		PartNumberMarker: marker,
		MaxParts:         limit,
	}
	var numbers []int
	for n := range u.parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		if limit > 0 && int64(len(res.Parts)) == limit {
			res.IsTruncated = true
			break
		}
		p := u.parts[n]
		res.Parts = append(res.Parts, gofakes3.ListMultipartUploadPartItem{
			PartNumber:   n,
			LastModified: gofakes3.NewContentTime(p.modified),
			ETag:         p.etag,
			Size:         p.size,
		})
		res.NextPartNumberMarker = n
	}
	return res, nil
}

func (b *backend) ListMultipartUploads(bucket string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	if err := b.checkBucket(bucket); err != nil {
		return nil, err
	}
	m := b.mp
	m.mu.Lock()
	ups := make([]*upload, 0, len(m.uploads))
	for _, u := range m.uploads {
		ups = append(ups, u)
	}
	m.mu.Unlock()
	slices.SortFunc(ups, func(a, b *upload) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := a.initiated.Compare(b.initiated); c != 0 {
			return c
		}
		return strings.Compare(string(a.id), string(b.id))
	})

	res := &gofakes3.ListMultipartUploadsResult{
		Bucket:     bucket,
		Delimiter:  prefix.Delimiter,
		Prefix:     prefix.Prefix,
		MaxUploads: limit,
	}
	// Skip the uploads up to the marker: those of keys before its key, and
	// of its key those up to its upload ID (all of them without one).
	start := 0
	if marker != nil {
		res.KeyMarker, res.UploadIDMarker = marker.Object, marker.UploadID
		for start < len(ups) && ups[start].key < marker.Object {
			start++
		}
		if marker.UploadID == "" {
			for start < len(ups) && ups[start].key == marker.Object {
				start++
			}
		} else {
			for i := start; i < len(ups) && ups[i].key == marker.Object; i++ {
				if ups[i].id == marker.UploadID {
					start = i + 1
					break
				}
			}
		}
	}
	var count int64
	var match gofakes3.PrefixMatch
	var last *upload
	for _, u := range ups[start:] {
		if !prefix.Match(u.key, &match) {
			continue
		}
		if match.CommonPrefix && len(res.CommonPrefixes) > 0 && res.CommonPrefixes[len(res.CommonPrefixes)-1].Prefix == match.MatchedPart {
			continue
		}
		if limit > 0 && count == limit {
			res.IsTruncated = true
			if last != nil {
				res.NextKeyMarker, res.NextUploadIDMarker = last.key, last.id
			}
			break
		}
		count++
		last = u
		if match.CommonPrefix {
			res.CommonPrefixes = append(res.CommonPrefixes, match.AsCommonPrefix())
			continue
		}
		res.Uploads = append(res.Uploads, gofakes3.ListMultipartUploadItem{
			Key:          u.key,
			UploadID:     u.id,
			StorageClass: gofakes3.StorageStandard,
			Initiated:    gofakes3.NewContentTime(u.initiated),
		})
	}
	return res, nil
}

func (b *backend) AbortMultipartUpload(bucket, key string, id gofakes3.UploadID) error {
	m := b.mp
	m.mu.Lock()
	u, err := m.lookup(bucket, key, id)
	if err == nil && u.completing {
		err = gofakes3.ErrorMessage(gofakes3.ErrConditionalRequestConflict, "the upload is being completed")
	}
	var files []string
	if err == nil {
		files = m.drop(u)
	}
	m.mu.Unlock()
	removeFiles(files)
	return err
}

// CompleteMultipartUpload stores the concatenation of the listed parts as
// the object. Its ETag is the MD5 digest of the whole object, as for objects
// uploaded at once (not the digest of the part digests S3 gives), so that
// GetObject returns the same ETag.
func (b *backend) CompleteMultipartUpload(bucket, key string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	m := b.mp
	m.mu.Lock()
	u, err := m.lookup(bucket, key, id)
	if err == nil && u.completing {
		err = gofakes3.ErrorMessage(gofakes3.ErrConditionalRequestConflict, "the upload is being completed")
	}
	var parts []*part
	if err == nil {
		parts, err = u.listed(input)
	}
	if err == nil {
		u.completing = true
	}
	m.mu.Unlock()
	if err != nil {
		return "", "", err
	}

	sum, err := b.concat(key, u.meta, parts)

	m.mu.Lock()
	var files []string
	if err == nil {
		files = m.drop(u)
	} else {
		u.completing = false
	}
	m.mu.Unlock()
	removeFiles(files)
	if err != nil {
		return "", "", err
	}
	return "", gofakes3.FormatETag(sum), nil
}

// listed returns the parts a completion request lists, checking that they
// are in ascending order and that their ETags match.
func (u *upload) listed(input *gofakes3.CompleteMultipartUploadRequest) ([]*part, error) {
	if input == nil || len(input.Parts) == 0 {
		return nil, gofakes3.ErrorMessage(gofakes3.ErrMalformedXML, "the request lists no parts")
	}
	var parts []*part
	prev := 0
	for _, in := range input.Parts {
		if in.PartNumber <= prev {
			return nil, gofakes3.ErrInvalidPartOrder
		}
		prev = in.PartNumber
		p, ok := u.parts[in.PartNumber]
		if !ok || strings.Trim(in.ETag, `"`) != strings.Trim(p.etag, `"`) {
			return nil, gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart, "part %d was not uploaded or its ETag does not match", in.PartNumber)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// concat stores the parts' concatenation at key.
func (b *backend) concat(key string, meta map[string]string, parts []*part) ([]byte, error) {
	var readers []io.Reader
	var size int64
	for _, p := range parts {
		f, err := os.Open(p.file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		readers = append(readers, f)
		size += p.size
	}
	return b.write(key, meta, io.MultiReader(readers...), size)
}
