// Package artifacts keeps pipeline artifacts the way CodePipeline does: each
// artifact is one zip file, stored under "<pipeline>/<executionId>/<name>.zip"
// in an artifact store location.
//
// Zipping keeps relative paths (always with forward slashes), directory
// entries and file modes, including the executable bit. Symbolic links and
// other non-regular files (sockets, pipes, devices) are skipped: an artifact
// holds regular files and directories only, and Unzip refuses anything else.
package artifacts

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxUncompressedSize is the total uncompressed size Unzip accepts (5 GiB).
// Larger archives are refused as possible zip bombs.
const MaxUncompressedSize int64 = 5 << 30

var (
	// ErrUnsafeEntry is wrapped by Unzip's error for an entry it refuses to
	// unpack: a path leaving the destination, a symbolic link, a device.
	ErrUnsafeEntry = errors.New("unsafe zip entry")
	// ErrTooLarge is wrapped by Unzip's error when the archive unpacks to
	// more than the size limit.
	ErrTooLarge = errors.New("zip archive too large")
)

// ZipDir writes a zip of the tree under dir to w. Entry names are relative to
// dir. Symbolic links and special files are skipped.
func ZipDir(dir string, w io.Writer) error {
	zw := zip.NewWriter(w)
	z := zipper{zw: zw, seen: map[string]bool{}}
	if err := z.addTree(dir, ""); err != nil {
		return err
	}
	return zw.Close()
}

// ZipFiles writes a zip of the given paths, relative to baseDir, to w. A path
// naming a directory adds the directory and everything under it. Paths must
// stay inside baseDir. Symbolic links and special files are skipped.
func ZipFiles(baseDir string, files []string, w io.Writer) error {
	zw := zip.NewWriter(w)
	z := zipper{zw: zw, seen: map[string]bool{}}
	for _, f := range files {
		rel := filepath.FromSlash(f)
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("zip: path %q is not inside %s", f, baseDir)
		}
		rel = filepath.Clean(rel)
		abs := filepath.Join(baseDir, rel)
		info, err := os.Lstat(abs)
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		if info.IsDir() {
			if err := z.addTree(abs, filepath.ToSlash(rel)); err != nil {
				return err
			}
			continue
		}
		if err := z.add(abs, filepath.ToSlash(rel), info); err != nil {
			return err
		}
	}
	return zw.Close()
}

type zipper struct {
	zw   *zip.Writer
	seen map[string]bool
}

// addTree adds dir's tree, naming entries prefix/<relative path>. An empty
// prefix means the tree's root itself gets no entry.
func (z *zipper) addTree(dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		return z.add(p, name, info)
	})
}

// add writes one entry. info comes from Lstat, so links are seen as links.
func (z *zipper) add(abs, name string, info fs.FileInfo) error {
	mode := info.Mode()
	switch {
	case mode.IsDir():
		name += "/"
	case mode.IsRegular():
	default:
		return nil // symlink, socket, pipe, device: not part of an artifact
	}
	if z.seen[name] {
		return nil
	}
	z.seen[name] = true
	hdr, err := zip.FileInfoHeader(info)
	if err != nil {
		return fmt.Errorf("zip: %s: %w", name, err)
	}
	hdr.Name = name
	if mode.IsDir() {
		hdr.Method = zip.Store
		_, err := z.zw.CreateHeader(hdr)
		return err
	}
	hdr.Method = zip.Deflate
	out, err := z.zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(out, f); err != nil {
		return fmt.Errorf("zip: %s: %w", name, err)
	}
	return nil
}

// Unzip unpacks the zip read from r (size bytes) into dest, refusing archives
// that unpack to more than MaxUncompressedSize. See UnzipLimit.
func Unzip(r io.ReaderAt, size int64, dest string) error {
	return UnzipLimit(r, size, dest, MaxUncompressedSize)
}

// UnzipLimit unpacks the zip read from r (size bytes) into dest, which is
// created if missing and should be empty.
//
// Every entry is checked before anything is written. An entry is refused,
// with an error wrapping ErrUnsafeEntry and naming it, when its path is
// absolute, contains a backslash, or leaves dest once cleaned ("../x",
// "a/../../b"), or when it is a symbolic link or a special file. The archive
// is refused with ErrTooLarge when its entries add up to more than limit
// bytes uncompressed; the limit is also enforced while writing, whatever the
// headers claim. All writes go through an os.Root on dest, so a symbolic link
// already present in dest cannot lead a write outside it.
//
// File modes are kept (the executable bit included; set-id and sticky bits
// are dropped); directories always stay writable by their owner. On error
// dest may hold a partial tree; the caller should discard it.
func UnzipLimit(r io.ReaderAt, size int64, dest string, limit int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("unzip: %w", err)
	}
	type item struct {
		f    *zip.File
		name string // cleaned, slash-separated
		dir  bool
	}
	items := make([]item, 0, len(zr.File))
	var total uint64
	for _, f := range zr.File {
		name, dir, err := checkEntry(f)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if !dir {
			total += f.UncompressedSize64
			if total > uint64(limit) {
				return fmt.Errorf("unzip: %w: entries add up to more than the limit of %d bytes", ErrTooLarge, limit)
			}
		}
		items = append(items, item{f: f, name: name, dir: dir})
	}

	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	defer root.Close()

	remaining := limit
	for _, it := range items {
		native := filepath.FromSlash(it.name)
		if it.dir {
			if err := root.MkdirAll(native, 0o755); err != nil {
				return fmt.Errorf("unzip: entry %q: %w", it.f.Name, err)
			}
			if err := root.Chmod(native, it.f.Mode().Perm()|0o700); err != nil {
				return fmt.Errorf("unzip: entry %q: %w", it.f.Name, err)
			}
			continue
		}
		if parent := filepath.Dir(native); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return fmt.Errorf("unzip: entry %q: %w", it.f.Name, err)
			}
		}
		n, err := extractFile(root, native, it.f, remaining)
		if err != nil {
			return fmt.Errorf("unzip: entry %q: %w", it.f.Name, err)
		}
		remaining -= n
	}
	return nil
}

// checkEntry validates one entry and returns its cleaned name ("" for an
// entry naming the root itself) and whether it is a directory.
func checkEntry(f *zip.File) (name string, dir bool, err error) {
	refuse := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("unzip: %w %q: %s", ErrUnsafeEntry, f.Name, why)
	}
	raw := f.Name
	switch {
	case raw == "":
		return refuse("empty name")
	case strings.ContainsRune(raw, 0):
		return refuse("name contains a NUL byte")
	case strings.Contains(raw, `\`):
		return refuse("name contains a backslash")
	case strings.HasPrefix(raw, "/"):
		return refuse("absolute path")
	}
	mode := f.Mode()
	if mode&fs.ModeSymlink != 0 {
		return refuse("symbolic links are not allowed in artifacts")
	}
	if mode&(fs.ModeType&^fs.ModeDir) != 0 {
		return refuse("special files are not allowed in artifacts")
	}
	dir = mode.IsDir() || strings.HasSuffix(raw, "/")
	clean := path.Clean(raw)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return refuse("path escapes the destination directory")
	}
	if clean == "." {
		if dir {
			return "", true, nil
		}
		return refuse("file entry names the destination directory itself")
	}
	return clean, dir, nil
}

// extractFile writes one file entry, refusing to write more than remaining
// bytes, and returns the bytes written.
func extractFile(root *os.Root, name string, f *zip.File, remaining int64) (int64, error) {
	perm := f.Mode().Perm()
	if perm == 0 {
		perm = 0o644
	}
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, remaining+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if n > remaining {
		return n, fmt.Errorf("%w: unpacked data exceeds the limit", ErrTooLarge)
	}
	// OpenFile's perm is filtered by the umask and ignored for an existing
	// file; set it exactly so the executable bit survives.
	if err := root.Chmod(name, perm); err != nil {
		return n, err
	}
	if mt := f.Modified; !mt.IsZero() {
		if err := root.Chtimes(name, mt, mt); err != nil {
			return n, err
		}
	}
	return n, nil
}
