// Package gitdiff lists the file paths a change touches in a local git
// repository (go-git), for triggers' filePaths filters when the event does
// not carry them (pull_request events).
package gitdiff

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ChangedFiles lists, sorted, the paths that differ between head and the
// merge base of base and head (what a pull request of head into base
// changes) in the repository at dir. A rename lists both paths.
func ChangedFiles(ctx context.Context, dir, base, head string) ([]string, error) {
	for _, s := range []string{base, head} {
		if !fullSHA.MatchString(s) {
			return nil, fmt.Errorf("%q is not a full commit ID", s)
		}
	}
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: false})
	if err != nil {
		return nil, fmt.Errorf("cannot open the repository: %w", err)
	}
	return ChangedFilesIn(ctx, repo, base, head)
}

// ChangedFilesIn is ChangedFiles in an opened repository (one cloned in
// memory, say).
func ChangedFilesIn(ctx context.Context, repo *git.Repository, base, head string) ([]string, error) {
	for _, s := range []string{base, head} {
		if !fullSHA.MatchString(s) {
			return nil, fmt.Errorf("%q is not a full commit ID", s)
		}
	}
	hc, err := repo.CommitObject(plumbing.NewHash(head))
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", head, err)
	}
	bc, err := repo.CommitObject(plumbing.NewHash(base))
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", base, err)
	}
	bases, err := hc.MergeBase(bc)
	if err != nil {
		return nil, fmt.Errorf("merge base of %s and %s: %w", base, head, err)
	}
	from := bc
	if len(bases) > 0 {
		from = bases[0]
	}
	ft, err := from.Tree()
	if err != nil {
		return nil, err
	}
	ht, err := hc.Tree()
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTreeWithOptions(ctx, ft, ht, object.DefaultDiffTreeOptions)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Lister is a triggers.Options.ChangedFiles over local clones: dirOf names
// the directory of the clone of a repository ("owner/name").
func Lister(dirOf func(ctx context.Context, repo string) (string, error)) func(ctx context.Context, repo, base, head string) ([]string, error) {
	return func(ctx context.Context, repo, base, head string) ([]string, error) {
		dir, err := dirOf(ctx, repo)
		if err != nil {
			return nil, err
		}
		return ChangedFiles(ctx, dir, base, head)
	}
}
