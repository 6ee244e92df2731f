package gitsource

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stageflow/stageflow/shared/artifacts"
)

// zipCommit writes the tree of commit c to w as a zip, straight from the
// repository's objects: nothing is checked out, so no symbolic link of the
// tree is ever followed. Regular and executable files and directories are
// written; symbolic links and submodules are left out (artifacts hold
// regular files only) and counted. A tree entry whose path is not safe to
// unpack (a '..', '.git' or empty component, a backslash) fails the zip.
func zipCommit(c *object.Commit, w io.Writer) (skipped int, err error) {
	tree, err := c.Tree()
	if err != nil {
		return 0, fmt.Errorf("reading the tree of commit %s: %w", c.Hash, err)
	}
	zw := zip.NewWriter(w)
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	var total int64
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("reading the tree of commit %s: %w", c.Hash, err)
		}
		if err := checkTreePath(name); err != nil {
			return 0, err
		}
		hdr := &zip.FileHeader{Name: name, Modified: c.Committer.When}
		switch entry.Mode {
		case filemode.Dir:
			hdr.Name += "/"
			hdr.SetMode(os.ModeDir | 0o755)
			if _, err := zw.CreateHeader(hdr); err != nil {
				return 0, err
			}
			continue
		case filemode.Regular, filemode.Deprecated:
			hdr.SetMode(0o644)
		case filemode.Executable:
			hdr.SetMode(0o755)
		default: // symbolic link, submodule
			skipped++
			continue
		}
		blob, err := tree.TreeEntryFile(&entry)
		if err != nil {
			return 0, fmt.Errorf("reading %s at commit %s: %w", name, c.Hash, err)
		}
		total += blob.Size
		if total > artifacts.MaxUncompressedSize {
			return 0, fmt.Errorf("the tree of commit %s is larger than an artifact may be (%d bytes)", c.Hash, artifacts.MaxUncompressedSize)
		}
		hdr.Method = zip.Deflate
		out, err := zw.CreateHeader(hdr)
		if err != nil {
			return 0, err
		}
		r, err := blob.Reader()
		if err != nil {
			return 0, fmt.Errorf("reading %s at commit %s: %w", name, c.Hash, err)
		}
		_, err = io.Copy(out, r)
		r.Close()
		if err != nil {
			return 0, fmt.Errorf("zipping %s: %w", name, err)
		}
	}
	return skipped, zw.Close()
}

// checkTreePath refuses a path no checkout of git's would write.
func checkTreePath(name string) error {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") {
		return fmt.Errorf("the repository's tree has an unsafe path %q", truncate(name, 200))
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return fmt.Errorf("the repository's tree has an unsafe path %q", truncate(name, 200))
		}
	}
	return nil
}
