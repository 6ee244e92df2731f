package gitsource

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stageflow/stageflow/shared/engine"
)

// maxVariable caps a commit message as an output variable (CodePipeline
// truncates long messages as well).
const maxVariable = 4096

// CommitVariables is the output variables a source action of provider
// (ProviderConnection or ProviderCodeCommit) produces for commit c on
// branch, as CodePipeline documents them:
//
//	CodeStarSourceConnection: AuthorDate, BranchName, CommitId, CommitMessage,
//	  ConnectionArn, FullRepositoryName, ProviderType
//	CodeCommit: AuthorDate, BranchName, CommitId, CommitMessage, CommitterDate,
//	  RepositoryName
//
// The commit's own variables come from c; the rest (ConnectionArn,
// FullRepositoryName, ProviderType, RepositoryName) are taken from extra,
// which may hold only keys the provider documents. Dates are ISO 8601 in UTC.
func CommitVariables(provider string, c *object.Commit, branch string, extra map[string]string) map[string]string {
	vars := map[string]string{
		"CommitId":      c.Hash.String(),
		"CommitMessage": truncate(strings.TrimRight(c.Message, "\n"), maxVariable),
		"AuthorDate":    isoDate(c.Author.When),
		"BranchName":    branch,
	}
	names := []string{"ConnectionArn", "FullRepositoryName", "ProviderType"}
	if provider == ProviderCodeCommit {
		vars["CommitterDate"] = isoDate(c.Committer.When)
		names = []string{"RepositoryName"}
	}
	for _, k := range names {
		if v, ok := extra[k]; ok {
			vars[k] = v
		}
	}
	return vars
}

// Revision is the current revision a source action reports for commit c:
// the commit ID (also its change identifier), the commit message as the
// summary — for connections as CodePipeline writes it, a JSON object with
// ProviderType and CommitMessage — and the committer date as when it was made.
func Revision(provider string, c *object.Commit, providerType string) *engine.Revision {
	msg := strings.TrimRight(c.Message, "\n")
	summary := truncate(msg, 2048)
	if provider == ProviderConnection {
		// Cut the message until the JSON fits RevisionSummary's 2048.
		for n := len(msg); ; n = n * 3 / 4 {
			b, _ := json.Marshal(struct {
				ProviderType  string
				CommitMessage string
			}{providerType, truncate(msg, n)})
			if len(b) <= 2048 || n == 0 {
				summary = string(b)
				break
			}
		}
	}
	return &engine.Revision{ID: c.Hash.String(), ChangeIdentifier: c.Hash.String(), Summary: summary, Created: c.Committer.When.UTC()}
}

func isoDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
