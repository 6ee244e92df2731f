package worksource

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Tree is what a source action takes from a directory: the files to put in
// its output artifact and, when the directory is inside a git work tree,
// the commit checked out there.
type Tree struct {
	// Dir is the directory taken (absolute, symbolic links resolved).
	Dir string
	// Files are the regular files under Dir that make the artifact, as
	// slash-separated paths relative to Dir, sorted.
	Files []string
	// Ignored counts the files and directories left out by the ignore
	// rules; Skipped the symbolic links and special files left out.
	Ignored, Skipped int
	// Git is the work tree's commit; nil for a plain directory or a
	// repository with no commit yet.
	Git *Commit

	exclude map[string]bool
}

// Commit describes HEAD of a work tree.
type Commit struct {
	// Root is the work tree's top directory.
	Root          string
	ID            string
	Message       string
	AuthorDate    time.Time
	CommitterDate time.Time
	// Branch is the branch checked out; empty on a detached HEAD.
	Branch string
	// Modified counts tracked files whose content differs from HEAD
	// (changed, staged, deleted); Untracked the files git does not know
	// that are not ignored. Both zero: the tree is HEAD as committed.
	Modified, Untracked int
}

// Dirty reports whether the work tree holds changes not in HEAD.
func (c *Commit) Dirty() bool { return c.Modified > 0 || c.Untracked > 0 }

// ErrNotWorkTree is wrapped by Snapshot's error when Options.RequireGit is
// set and the directory is not inside a git work tree.
var ErrNotWorkTree = errors.New("not inside a git work tree")

// Options tune Snapshot.
type Options struct {
	// RequireGit: a directory outside a git work tree (or in a repository
	// with no commit) is an error.
	RequireGit bool
	// WholeTree: inside a git work tree, take the whole work tree from its
	// top directory, wherever under it the directory is.
	WholeTree bool
	// Exclude lists directories never taken, wherever they are (the data
	// directory of `stageflow run`, which is often inside the work tree).
	Exclude []string
}

// Snapshot lists what a source action takes from dir. Inside a git work
// tree, that is every file of the tree under dir, committed or not, except
// those the ignore rules (.gitignore files at any depth, .git/info/exclude)
// leave out unless git tracks them; a plain directory gives all its files.
// `.git` is never taken. Symbolic links are not followed and are left out,
// whatever they point at, as are sockets, pipes and devices: an artifact
// holds regular files only. With opt.RequireGit, a dir outside a work tree
// is an error wrapping ErrNotWorkTree.
func Snapshot(dir string, opt Options) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	t := &Tree{Dir: abs, exclude: map[string]bool{}}
	for _, x := range opt.Exclude {
		if x, err := filepath.Abs(x); err == nil {
			if r, err := filepath.EvalSymlinks(x); err == nil {
				x = r
			}
			t.exclude[x] = true
		}
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	switch {
	case errors.Is(err, git.ErrRepositoryNotExists):
		if opt.RequireGit {
			return nil, fmt.Errorf("%s is %w", dir, ErrNotWorkTree)
		}
		return t, t.walk(nil)
	case err != nil:
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	g, err := openGit(repo, t.exclude)
	if err != nil {
		return nil, fmt.Errorf("reading the git repository of %s: %w", dir, err)
	}
	if opt.RequireGit && g.commit == nil {
		return nil, fmt.Errorf("the git repository of %s has no commit yet: commit once, or pass --source ACTION=DIR", dir)
	}
	t.Git = g.commit
	if opt.WholeTree {
		t.Dir = g.root
	}
	return t, t.walk(g)
}

// gitTree is what the walk needs of a work tree.
type gitTree struct {
	root    string
	match   gitignore.Matcher
	tracked map[string]bool // slash paths relative to root, files and their parent directories
	commit  *Commit
}

func openGit(repo *git.Repository, exclude map[string]bool) (*gitTree, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return nil, err // a bare repository
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, err
	}
	g := &gitTree{root: root, tracked: map[string]bool{}}
	patterns, err := gitignore.ReadPatterns(osfs.New(root), nil)
	if err != nil {
		return nil, fmt.Errorf("reading .gitignore files: %w", err)
	}
	g.match = gitignore.NewMatcher(patterns)
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	for _, e := range idx.Entries {
		for p := e.Name; p != "." && p != ""; p = dirOf(p) {
			g.tracked[p] = true
		}
	}
	head, err := repo.Head()
	if err != nil {
		return g, nil // no commit yet: files, no variables
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("reading HEAD: %w", err)
	}
	g.commit = &Commit{
		Root: root, ID: c.Hash.String(), Message: strings.TrimRight(c.Message, "\n"),
		AuthorDate: c.Author.When, CommitterDate: c.Committer.When,
	}
	if head.Name().IsBranch() {
		g.commit.Branch = head.Name().Short()
	}
	st, err := wt.StatusWithOptions(git.StatusOptions{Strategy: git.Preload})
	if err != nil {
		return nil, fmt.Errorf("comparing the work tree with HEAD: %w", err)
	}
	for name, fst := range st {
		if excluded(filepath.Join(root, filepath.FromSlash(name)), exclude) {
			continue // the data directory is not a change of the tree
		}
		switch {
		case fst.Worktree == git.Untracked:
			g.commit.Untracked++
		case fst.Staging != git.Unmodified || fst.Worktree != git.Unmodified:
			g.commit.Modified++
		}
	}
	return g, nil
}

// excluded reports whether p is inside one of the directories of exclude.
func excluded(p string, exclude map[string]bool) bool {
	for x := range exclude {
		if rel, err := filepath.Rel(x, p); err == nil && filepath.IsLocal(rel) {
			return true
		}
	}
	return false
}

func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// walk lists t.Dir's files, leaving out what g ignores (g nil: nothing).
func (t *Tree) walk(g *gitTree) error {
	err := filepath.WalkDir(t.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == t.Dir {
			return nil
		}
		if d.IsDir() && t.exclude[p] {
			return filepath.SkipDir
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a submodule's or linked work tree's pointer
		}
		rel, err := filepath.Rel(t.Dir, p)
		if err != nil {
			return err
		}
		if g != nil {
			inRepo, err := filepath.Rel(g.root, p)
			if err != nil {
				return err
			}
			slash := filepath.ToSlash(inRepo)
			if !g.tracked[slash] && g.match.Match(strings.Split(slash, "/"), d.IsDir()) {
				t.Ignored++
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type().IsRegular():
			t.Files = append(t.Files, filepath.ToSlash(rel))
		default:
			t.Skipped++ // a symbolic link (never followed), socket, pipe or device
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", t.Dir, err)
	}
	slices.Sort(t.Files)
	return nil
}
