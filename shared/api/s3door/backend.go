package s3door

import (
	"crypto/md5"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/stageflow/stageflow/shared/artifacts"
)

// tempPrefix starts the names of the files artifacts.Store and this package
// write before renaming them into place; listings leave them out.
const tempPrefix = artifacts.TempPrefix

// backend is a gofakes3.Backend keeping the objects of one bucket as the
// files of a folder: key K is the file <dir>/K. All file access goes through
// an os.Root of the folder, so no key, symbolic link or race reaches a file
// outside it.
//
// The folder holds only the object bytes. The MD5 digest of each object (its
// ETag) and the metadata it was uploaded with (Content-Type and the like,
// x-amz-meta-*) are kept in memory, tied to the file they describe; they are
// lost on restart and when the file is replaced by other means, in which case
// the digest is computed again from the file and the metadata is empty.
type backend struct {
	dir    string
	bucket string
	info   *infoCache
	mp     *multipart
}

var (
	_ gofakes3.Backend          = (*backend)(nil)
	_ gofakes3.MultipartBackend = (*backend)(nil)
)

func newBackend(dir, bucket string) *backend {
	b := &backend{dir: dir, bucket: bucket, info: newInfoCache(4096)}
	b.mp = newMultipart(b)
	return b
}

// openRoot opens the folder, creating it first if create is set.
func (b *backend) openRoot(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(b.dir)
}

func (b *backend) checkBucket(name string) error {
	if name != b.bucket {
		return gofakes3.BucketNotFound(name)
	}
	return nil
}

// validKey reports whether key names a file in the folder: a relative slash
// path of at most 1024 bytes whose segments are non-empty, not "." or "..",
// free of backslashes and NUL bytes, and not named like a temporary file
// (the keys artifacts.Store accepts, less the temporary names).
func validKey(key string) bool {
	if key == "" || len(key) > gofakes3.KeySizeLimit || strings.ContainsAny(key, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, tempPrefix) {
			return false
		}
	}
	return true
}

func invalidKey(key string) error {
	return gofakes3.ErrorInvalidArgument("key", key, "This store accepts only keys that are relative slash-separated paths without empty, \".\" or \"..\" segments.")
}

// notFound reports whether err means there is no file at a path.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// objInfo is what the folder does not hold about an object.
type objInfo struct {
	file fs.FileInfo // the file described
	md5  []byte
	meta map[string]string
}

// infoCache keeps objInfo by key, each valid while the key's file is the
// same file, unchanged.
type infoCache struct {
	mu  sync.Mutex
	m   map[string]objInfo
	max int
}

func newInfoCache(max int) *infoCache {
	return &infoCache{m: map[string]objInfo{}, max: max}
}

func (c *infoCache) get(key string, fi fs.FileInfo) (objInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !os.SameFile(e.file, fi) || e.file.Size() != fi.Size() || !e.file.ModTime().Equal(fi.ModTime()) {
		return objInfo{}, false
	}
	return e, true
}

func (c *infoCache) put(key string, e objInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[key] = e
}

func (c *infoCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// storedMeta keeps of the metadata gofakes3 collects from a request the
// entries describing the object.
func storedMeta(meta map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range meta {
		switch k = http.CanonicalHeaderKey(k); {
		case k == "Content-Type", k == "Content-Disposition", k == "Content-Encoding",
			strings.HasPrefix(k, "X-Amz-Meta-"):
			out[k] = v
		}
	}
	return out
}

// open opens the object at key and returns it with its information,
// computing its digest if it is not known.
func (b *backend) open(key string) (*os.File, fs.FileInfo, objInfo, error) {
	if !validKey(key) {
		return nil, nil, objInfo{}, gofakes3.KeyNotFound(key)
	}
	root, err := b.openRoot(false)
	if err != nil {
		if notFound(err) {
			return nil, nil, objInfo{}, gofakes3.KeyNotFound(key)
		}
		return nil, nil, objInfo{}, err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(key))
	if err != nil {
		if notFound(err) || strings.Contains(err.Error(), "escapes") {
			return nil, nil, objInfo{}, gofakes3.KeyNotFound(key)
		}
		return nil, nil, objInfo{}, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = gofakes3.KeyNotFound(key)
	}
	if err != nil {
		f.Close()
		return nil, nil, objInfo{}, err
	}
	info, ok := b.info.get(key, fi)
	if !ok {
		h := md5.New()
		_, err := io.Copy(h, f)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, nil, objInfo{}, err
		}
		info = objInfo{file: fi, md5: h.Sum(nil)}
		b.info.put(key, info)
	}
	return f, fi, info, nil
}

// object describes an open object for gofakes3.
func (b *backend) object(key string, fi fs.FileInfo, info objInfo, contents io.ReadCloser, rng *gofakes3.ObjectRange) *gofakes3.Object {
	meta := map[string]string{}
	for k, v := range info.meta {
		meta[k] = v
	}
	if meta["Content-Type"] == "" {
		if strings.HasSuffix(key, ".zip") {
			meta["Content-Type"] = "application/zip"
		} else {
			meta["Content-Type"] = "binary/octet-stream"
		}
	}
	meta["Last-Modified"] = fi.ModTime().UTC().Format(http.TimeFormat)
	return &gofakes3.Object{
		Name:     key,
		Metadata: meta,
		Size:     fi.Size(),
		Contents: contents,
		Hash:     info.md5,
		Range:    rng,
	}
}

func (b *backend) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	if err := b.checkBucket(bucket); err != nil {
		return nil, err
	}
	f, fi, info, err := b.open(key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	var contents io.ReadCloser = f
	if rng != nil {
		if _, err := f.Seek(rng.Start, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		contents = readCloser{io.LimitReader(f, rng.Length), f}
	}
	return b.object(key, fi, info, contents, rng), nil
}

func (b *backend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	if err := b.checkBucket(bucket); err != nil {
		return nil, err
	}
	f, fi, info, err := b.open(key)
	if err != nil {
		return nil, err
	}
	f.Close()
	return b.object(key, fi, info, io.NopCloser(strings.NewReader("")), nil), nil
}

// exists returns the information of the object at key, if there is one.
func (b *backend) exists(key string) (*gofakes3.ConditionalObjectInfo, error) {
	f, _, info, err := b.open(key)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return &gofakes3.ConditionalObjectInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return &gofakes3.ConditionalObjectInfo{Exists: true, Hash: info.md5}, nil
}

func (b *backend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if err := b.checkBucket(bucket); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if !validKey(key) {
		return gofakes3.PutObjectResult{}, invalidKey(key)
	}
	if conditions != nil {
		cur, err := b.exists(key)
		if err != nil {
			return gofakes3.PutObjectResult{}, err
		}
		if err := gofakes3.CheckPutConditions(conditions, cur); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	_, err := b.write(key, meta, input, size)
	return gofakes3.PutObjectResult{}, err
}

// write stores size bytes read from input as the object at key, replacing
// any earlier one atomically, and returns their MD5 digest. Nothing is
// stored unless input yields exactly size bytes and no error.
func (b *backend) write(key string, meta map[string]string, input io.Reader, size int64) ([]byte, error) {
	root, err := b.openRoot(true)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	name := filepath.FromSlash(key)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, conflict(key, err)
		}
	}
	tmp := filepath.Join(filepath.Dir(name), tempPrefix+"s3-"+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, conflict(key, err)
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), input)
	if err == nil && n != size {
		err = gofakes3.ErrIncompleteBody
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The rename keeps the file, so fi describes it at key.
		if err = root.Rename(tmp, name); err != nil {
			err = conflict(key, err)
		}
	}
	if err != nil {
		root.Remove(tmp)
		return nil, err
	}
	sum := h.Sum(nil)
	b.info.put(key, objInfo{file: fi, md5: sum, meta: storedMeta(meta)})
	return sum, nil
}

// conflict explains a failure to create the file of key, which is usually
// that a file is where key needs a folder or the other way round: the folder
// cannot hold both "a" and "a/b".
func conflict(key string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR),
		errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY):
		return gofakes3.ErrorInvalidArgument("key", key, "The key conflicts with an existing object: this store cannot hold both \"a\" and \"a/b\".")
	case strings.Contains(err.Error(), "escapes"):
		// A symbolic link in the folder points out of it.
		return invalidKey(key)
	}
	return err
}

func (b *backend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	if err := b.checkBucket(bucket); err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	// Deleting a missing object succeeds, as on S3.
	if !validKey(key) {
		return gofakes3.ObjectDeleteResult{}, nil
	}
	root, err := b.openRoot(false)
	if err != nil {
		if notFound(err) {
			return gofakes3.ObjectDeleteResult{}, nil
		}
		return gofakes3.ObjectDeleteResult{}, err
	}
	defer root.Close()
	name := filepath.FromSlash(key)
	fi, err := root.Lstat(name)
	if err != nil || fi.IsDir() {
		return gofakes3.ObjectDeleteResult{}, nil
	}
	if err := root.Remove(name); err != nil && !notFound(err) {
		return gofakes3.ObjectDeleteResult{}, err
	}
	b.info.drop(key)
	return gofakes3.ObjectDeleteResult{}, nil
}

func (b *backend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	if err := b.checkBucket(bucket); err != nil {
		return res, err
	}
	for _, key := range keys {
		if _, err := b.DeleteObject(bucket, key); err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResult{Key: key, Code: gofakes3.ErrInternal, Message: err.Error()})
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: key})
	}
	return res, nil
}

func (b *backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	if err := b.checkBucket(srcBucket); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	if err := b.checkBucket(dstBucket); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	if !validKey(dstKey) {
		return gofakes3.CopyObjectResult{}, invalidKey(dstKey)
	}
	f, fi, _, err := b.open(srcKey)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer f.Close()
	sum, err := b.write(dstKey, meta, f, fi.Size())
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{
		ETag:         gofakes3.FormatETag(sum),
		LastModified: gofakes3.NewContentTime(time.Now()),
	}, nil
}

func (b *backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	created := time.Now()
	if fi, err := os.Stat(b.dir); err == nil {
		created = fi.ModTime()
	}
	return []gofakes3.BucketInfo{{Name: b.bucket, CreationDate: gofakes3.NewContentTime(created)}}, nil
}

func (b *backend) BucketExists(name string) (bool, error) {
	return name == b.bucket, nil
}

func (b *backend) CreateBucket(name string) error {
	if name == b.bucket {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	return gofakes3.ErrorMessagef(gofakes3.ErrNotImplemented, "this endpoint serves only the bucket %s", b.bucket)
}

func (b *backend) DeleteBucket(name string) error {
	if err := b.checkBucket(name); err != nil {
		return err
	}
	return gofakes3.ErrorMessage(gofakes3.ErrNotImplemented, "the artifact bucket cannot be deleted")
}

func (b *backend) ForceDeleteBucket(name string) error {
	return b.DeleteBucket(name)
}

// ListBucket lists the objects under the prefix in key order, pages of
// page.MaxKeys entries (objects and common prefixes) starting after
// page.Marker. Objects whose digest is not known yet are listed with an
// empty ETag rather than read in full.
func (b *backend) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if err := b.checkBucket(bucket); err != nil {
		return nil, err
	}
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	files, err := b.files(prefix.Prefix)
	if err != nil {
		return nil, err
	}
	list := gofakes3.NewObjectList()
	var count int64
	var match gofakes3.PrefixMatch
	for _, f := range files {
		if !prefix.Match(f.key, &match) {
			continue
		}
		if page.HasMarker && (f.key <= page.Marker || match.CommonPrefix && match.MatchedPart <= page.Marker) {
			continue
		}
		if match.CommonPrefix && len(list.CommonPrefixes) > 0 && list.CommonPrefixes[len(list.CommonPrefixes)-1].Prefix == match.MatchedPart {
			continue // rolled up already
		}
		if page.MaxKeys > 0 && count == page.MaxKeys {
			list.IsTruncated = true
			break
		}
		count++
		if match.CommonPrefix {
			list.AddPrefix(match.MatchedPart)
			list.NextMarker = match.MatchedPart
			continue
		}
		etag := ""
		if info, ok := b.info.get(f.key, f.info); ok {
			etag = gofakes3.FormatETag(info.md5)
		}
		list.Add(&gofakes3.Content{
			Key:          f.key,
			LastModified: gofakes3.NewContentTime(f.info.ModTime()),
			ETag:         etag,
			Size:         f.info.Size(),
			StorageClass: gofakes3.StorageStandard,
		})
		list.NextMarker = f.key
	}
	if !list.IsTruncated {
		list.NextMarker = ""
	}
	return list, nil
}

type file struct {
	key  string
	info fs.FileInfo
}

// files returns the regular files whose keys start with prefix, sorted by
// key, skipping temporary files and names that are not valid keys.
func (b *backend) files(prefix string) ([]file, error) {
	root, err := b.openRoot(false)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, err
	}
	defer root.Close()
	// Walk only the folder holding the prefix's complete segments.
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i > 0 && validKey(prefix[:i]) {
		start = prefix[:i]
	}
	var files []file
	err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if notFound(err) {
				return nil
			}
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			// Skip folders outside the prefix.
			if !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) || !validKey(p) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		files = append(files, file{key: p, info: fi})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.key, b.key) })
	return files, nil
}
