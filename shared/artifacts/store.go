package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// Location is where an artifact is stored, named as CodePipeline names an S3
// location: Bucket is the artifact store's location name, Key the object key
// "<pipeline>/<executionId>/<artifact>.zip".
type Location struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Store keeps artifacts as zip files in a local folder, one folder per
// artifact store location.
type Store struct {
	// Root is the folder holding the artifacts.
	Root string
	// Bucket is the artifact store's location name reported in Locations;
	// empty means the base name of Root.
	Bucket string
}

func (s *Store) bucket() string {
	if s.Bucket != "" {
		return s.Bucket
	}
	return filepath.Base(s.Root)
}

// Key returns the object key of an artifact: its three components, each
// escaped by EscapeComponent, joined by "/", with ".zip" appended.
func (s *Store) Key(pipeline, executionID, artifactName string) string {
	return EscapeComponent(pipeline) + "/" + EscapeComponent(executionID) + "/" + EscapeComponent(artifactName) + ".zip"
}

// Path returns the file an artifact is kept in: Root/<Key>.
func (s *Store) Path(pipeline, executionID, artifactName string) string {
	return filepath.Join(s.Root, filepath.FromSlash(s.Key(pipeline, executionID, artifactName)))
}

// DeleteExecution removes every artifact of one execution of a pipeline (the
// folder Root/<pipeline>/<executionId>, escaped as in Key); the pipeline's
// folder stays, since another execution may be writing there. Deleting what
// does not exist is no error.
func (s *Store) DeleteExecution(pipeline, executionID string) error {
	if err := os.RemoveAll(filepath.Join(s.Root, EscapeComponent(pipeline), EscapeComponent(executionID))); err != nil {
		return errs.Wrap(errs.Internal, err, "delete the artifacts of execution %s: %v", executionID, err)
	}
	return nil
}

// Put stores the zip read from r as the named artifact, replacing any earlier
// one atomically, and returns its location.
func (s *Store) Put(ctx context.Context, pipeline, executionID, name string, r io.Reader) (Location, error) {
	if err := ctx.Err(); err != nil {
		return Location{}, err
	}
	return s.PutKey(ctx, s.Key(pipeline, executionID, name), r)
}

// PutKey stores the zip read from r at an object key, replacing any earlier
// one atomically. A malformed key is a Validation error.
func (s *Store) PutKey(ctx context.Context, key string, r io.Reader) (Location, error) {
	if err := ctx.Err(); err != nil {
		return Location{}, err
	}
	if !validKey(key) {
		return Location{}, errs.New(errs.Validation, "invalid artifact key %q", key)
	}
	dst := filepath.Join(s.Root, filepath.FromSlash(key))
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Location{}, errs.Wrap(errs.Internal, err, "store artifact %s: %v", key, err)
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return Location{}, errs.Wrap(errs.Internal, err, "store artifact %s: %v", key, err)
	}
	_, err = io.Copy(tmp, ctxReader{ctx, r})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		if ctx.Err() != nil {
			return Location{}, ctx.Err()
		}
		return Location{}, errs.Wrap(errs.Internal, err, "store artifact %s: %v", key, err)
	}
	return Location{Bucket: s.bucket(), Key: key}, nil
}

// Open opens a stored artifact for reading and returns it with its size. The
// caller closes the file. A missing artifact, a location of another bucket
// or a malformed key is a NotFound error.
func (s *Store) Open(ctx context.Context, loc Location) (*os.File, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if loc.Bucket != s.bucket() {
		return nil, 0, errs.Of(errs.NotFound, errs.KindArtifact, "artifact store %q does not hold bucket %q", s.bucket(), loc.Bucket)
	}
	if !validKey(loc.Key) {
		return nil, 0, errs.Of(errs.NotFound, errs.KindArtifact, "no artifact at key %q", loc.Key)
	}
	f, err := os.Open(filepath.Join(s.Root, filepath.FromSlash(loc.Key)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, errs.Wrap(errs.NotFound, err, "no artifact at %s/%s", loc.Bucket, loc.Key)
		}
		return nil, 0, errs.Wrap(errs.Internal, err, "open artifact %s/%s: %v", loc.Bucket, loc.Key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, errs.Wrap(errs.Internal, err, "open artifact %s/%s: %v", loc.Bucket, loc.Key, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, errs.Of(errs.NotFound, errs.KindArtifact, "no artifact at %s/%s", loc.Bucket, loc.Key)
	}
	return f, info.Size(), nil
}

// validKey reports whether key is a relative slash path whose every
// component is non-empty, not "." or "..", and free of backslashes.
func validKey(key string) bool {
	if key == "" || strings.ContainsAny(key, "\\\x00") {
		return false
	}
	for _, c := range strings.Split(key, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// TempPrefix starts the names of the files this package and the S3 door
// write before renaming them into place: no object key component may start
// with it (EscapeComponent escapes one that would).
const TempPrefix = ".put-"

// EscapeComponent makes s safe as one path component, one-to-one (distinct
// inputs never share a result): bytes other than ASCII letters, digits, '-',
// '_', '.' and '@' become %XX; a component made only of dots ("." or "..")
// has every dot escaped; so has the first dot of a component starting
// TempPrefix (the temporary files' prefix); the empty string becomes
// "%". Names CodePipeline allows (pipelines: [A-Za-z0-9.@_-], artifacts:
// [A-Za-z0-9_-]) stay as they are, apart from those two kinds of names.
func EscapeComponent(s string) string {
	if s == "" {
		return "%"
	}
	if strings.Trim(s, ".") == "" {
		return strings.Repeat("%2E", len(s))
	}
	var b strings.Builder
	start := 0
	if strings.HasPrefix(s, TempPrefix) {
		b.WriteString("%2E")
		start = 1
	}
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '@':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
