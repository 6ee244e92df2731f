package buildspec

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// File is one file picked for an artifact.
type File struct {
	Path string // the file on disk
	Name string // its slash-separated path inside the artifact
}

func (a ArtifactSpec) fieldName() string {
	if a.field != "" {
		return a.field
	}
	return "artifacts"
}

// Select picks the files of an artifact from srcDir, the build's source
// directory, as CodeBuild does: patterns are matched against paths relative
// to the base directory (or srcDir), exclude-paths are left out, and with
// discard-paths every file goes to the top of the artifact.
//
// Only regular files are picked; a symbolic link to a regular file counts as
// that file, links to directories are not followed. It is an error when no
// file matches (CodeBuild fails such a build), when the base directory does
// not exist, or when discard-paths would give two files the same name.
func Select(srcDir string, a ArtifactSpec) ([]File, error) {
	field := a.fieldName()
	if probs := a.check(field, true); len(probs) > 0 {
		return nil, errs.Invalid("invalid artifact specification", probs)
	}
	bases, err := baseDirs(srcDir, a.BaseDirectory, field)
	if err != nil {
		return nil, err
	}
	files := cleanPatterns(a.Files)
	excludes := cleanPatterns(a.ExcludePaths)
	var out []File
	owner := map[string]string{} // artifact name -> file, to catch collisions
	for _, base := range bases {
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				info, err := os.Stat(p)
				if err != nil || !info.Mode().IsRegular() {
					return nil // dangling, or a link to a directory
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !matchAny(files, rel) || matchAny(excludes, rel) {
				return nil
			}
			name := rel
			if a.DiscardPaths {
				name = path.Base(rel)
			}
			if prev, ok := owner[name]; ok {
				if a.DiscardPaths {
					return fmt.Errorf("%s.discard-paths: %q and %q would both be stored as %q", field, prev, p, name)
				}
				return fmt.Errorf("%s.base-directory: %q and %q would both be stored as %q", field, prev, p, name)
			}
			owner[name] = p
			out = append(out, File{Path: p, Name: name})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		quoted := make([]string, len(a.Files))
		for i, f := range a.Files {
			quoted[i] = fmt.Sprintf("%q", f)
		}
		where := ""
		if a.BaseDirectory != "" {
			where = fmt.Sprintf(" in base directory %q", a.BaseDirectory)
		}
		return nil, fmt.Errorf("%s.files: no file matches %s%s", field, strings.Join(quoted, ", "), where)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Collect copies the files of an artifact (see Select) into destDir, which
// is created if needed and should be empty, keeping file modes, so that the
// caller can zip destDir. It returns the names written.
func Collect(srcDir string, a ArtifactSpec, destDir string) ([]string, error) {
	files, err := Select(srcDir, a)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		dst := filepath.Join(destDir, filepath.FromSlash(f.Name))
		if err := copyFile(f.Path, dst); err != nil {
			return nil, fmt.Errorf("%s: copy %s: %w", a.fieldName(), f.Name, err)
		}
		names = append(names, f.Name)
	}
	return names, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chmod(dst, info.Mode().Perm())
}

// baseDirs resolves base-directory: srcDir itself, one directory, or the
// directories a pattern matches.
func baseDirs(srcDir, base, field string) ([]string, error) {
	if base == "" {
		return []string{srcDir}, nil
	}
	clean := path.Clean(strings.TrimPrefix(base, "./"))
	if !hasMeta(clean) {
		dir := filepath.Join(srcDir, filepath.FromSlash(clean))
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s.base-directory: %q is not a directory in the source directory", field, base)
		}
		return []string{dir}, nil
	}
	var dirs []string
	err := filepath.WalkDir(srcDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == srcDir {
			return nil
		}
		rel, _ := filepath.Rel(srcDir, p)
		rel = filepath.ToSlash(rel)
		if match(clean, rel) {
			dirs = append(dirs, p)
			return fs.SkipDir
		}
		if !strings.Contains(clean, "**") && strings.Count(rel, "/") >= strings.Count(clean, "/") {
			return fs.SkipDir // deeper than the pattern can reach
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s.base-directory: no directory matches %q", field, base)
	}
	return dirs, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// cleanPatterns normalizes patterns: no leading "./", no trailing "/".
func cleanPatterns(pats []string) []string {
	out := make([]string, 0, len(pats))
	for _, p := range pats {
		for strings.HasPrefix(p, "./") {
			p = p[2:]
		}
		out = append(out, path.Clean(p))
	}
	return out
}

// matchAny reports whether rel matches a pattern, or lies under a directory
// a plain pattern (no wildcards) names. A wildcard pattern matching a
// directory does not take the directory's tree: "dist/*" is the files
// directly in dist, "dist/**/*" is all of them.
func matchAny(pats []string, rel string) bool {
	for _, p := range pats {
		if p == "." || match(p, rel) {
			return true
		}
		if !hasMeta(p) && strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// match matches a slash path against a pattern whose "**" components match
// any number of path components and whose other components follow
// path.Match.
func match(pattern, name string) bool {
	return matchParts(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			for i := 0; i <= len(name); i++ {
				if matchParts(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
