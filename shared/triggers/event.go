// Package triggers reads GitHub-compatible webhook events (push,
// pull_request, ping) and evaluates pipelines' V2 triggers against them as
// CodePipeline documents: which pipelines start, with which source revision,
// and why the others do not. It is pure: no network, no store.
package triggers

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// The event types handled.
const (
	EventPush        = "push"
	EventPullRequest = "pull_request"
	EventPing        = "ping"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// Event is the part of a webhook event that triggers read.
type Event struct {
	Type       string       `json:"type"`
	Repository string       `json:"repository"` // owner/name
	Push       *Push        `json:"push,omitempty"`
	PR         *PullRequest `json:"pullRequest,omitempty"`
}

// Push is a push event: to a branch (refs/heads/…) or a tag (refs/tags/…).
type Push struct {
	Ref     string   `json:"ref"`
	Branch  string   `json:"branch,omitempty"`
	Tag     string   `json:"tag,omitempty"`
	Before  string   `json:"before"`
	After   string   `json:"after"`
	Commit  string   `json:"commit"` // head_commit.id, else after
	Created bool     `json:"created"`
	Deleted bool     `json:"deleted"`
	Files   []string `json:"files"` // commits' added, modified and removed paths
}

// PullRequest is a pull_request event.
type PullRequest struct {
	Action  string `json:"action"`
	Number  int    `json:"number"`
	HeadRef string `json:"headRef"`
	HeadSHA string `json:"headSha"`
	BaseRef string `json:"baseRef"`
	BaseSHA string `json:"baseSha"`
	Merged  bool   `json:"merged"`
}

type wireRepo struct {
	FullName string `json:"full_name"`
}

type wireCommit struct {
	ID       string   `json:"id"`
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type wirePush struct {
	Ref        *string      `json:"ref"`
	Before     string       `json:"before"`
	After      *string      `json:"after"`
	Created    bool         `json:"created"`
	Deleted    bool         `json:"deleted"`
	HeadCommit *wireCommit  `json:"head_commit"`
	Commits    []wireCommit `json:"commits"`
	Repository *wireRepo    `json:"repository"`
}

type wireRef struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

type wirePR struct {
	Action      *string `json:"action"`
	Number      int     `json:"number"`
	PullRequest *struct {
		Number int      `json:"number"`
		Head   *wireRef `json:"head"`
		Base   *wireRef `json:"base"`
		Merged bool     `json:"merged"`
	} `json:"pull_request"`
	Repository *wireRepo `json:"repository"`
}

func bad(format string, args ...any) error {
	return errs.New(errs.Validation, format, args...)
}

// GuessType names the event type of a payload: pull_request when it carries
// a pull_request object, ping when it carries a zen or hook_id, else push.
func GuessType(body []byte) string {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return EventPush
	}
	if _, ok := probe["pull_request"]; ok {
		return EventPullRequest
	}
	if _, ok := probe["zen"]; ok {
		return EventPing
	}
	if _, ok := probe["hook_id"]; ok {
		if _, ok := probe["ref"]; !ok {
			return EventPing
		}
	}
	return EventPush
}

// Parse reads a payload of the given event type. A malformed payload or a
// missing field is a Validation error naming it.
func Parse(eventType string, body []byte) (*Event, error) {
	dec := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(body))
		if err := d.Decode(v); err != nil {
			return bad("the %s payload is not valid JSON: %v", eventType, err)
		}
		if d.More() {
			return bad("the %s payload has data after its JSON object", eventType)
		}
		return nil
	}
	switch eventType {
	case EventPing:
		var v map[string]json.RawMessage
		if err := dec(&v); err != nil {
			return nil, err
		}
		return &Event{Type: EventPing}, nil
	case EventPush:
		var w wirePush
		if err := dec(&w); err != nil {
			return nil, err
		}
		return parsePush(&w)
	case EventPullRequest:
		var w wirePR
		if err := dec(&w); err != nil {
			return nil, err
		}
		return parsePR(&w)
	}
	return nil, bad("event type %q is not one of push, pull_request, ping", eventType)
}

func repoName(r *wireRepo) (string, error) {
	if r == nil || r.FullName == "" {
		return "", bad("the payload has no repository.full_name")
	}
	return r.FullName, nil
}

func parsePush(w *wirePush) (*Event, error) {
	repo, err := repoName(w.Repository)
	if err != nil {
		return nil, err
	}
	if w.Ref == nil || *w.Ref == "" {
		return nil, bad("the push payload has no ref")
	}
	if w.After == nil {
		return nil, bad("the push payload has no after")
	}
	p := &Push{Ref: *w.Ref, Before: w.Before, After: *w.After, Created: w.Created, Deleted: w.Deleted || *w.After == zeroSHA}
	switch {
	case strings.HasPrefix(p.Ref, "refs/heads/") && len(p.Ref) > len("refs/heads/"):
		p.Branch = strings.TrimPrefix(p.Ref, "refs/heads/")
	case strings.HasPrefix(p.Ref, "refs/tags/") && len(p.Ref) > len("refs/tags/"):
		p.Tag = strings.TrimPrefix(p.Ref, "refs/tags/")
	default:
		return nil, bad("the push payload's ref %q is neither refs/heads/… nor refs/tags/…", p.Ref)
	}
	p.Commit = p.After
	if w.HeadCommit != nil && w.HeadCommit.ID != "" {
		p.Commit = w.HeadCommit.ID // an annotated tag's after is the tag object
	}
	seen := map[string]bool{}
	for _, c := range w.Commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if !seen[f] {
					seen[f] = true
					p.Files = append(p.Files, f)
				}
			}
		}
	}
	return &Event{Type: EventPush, Repository: repo, Push: p}, nil
}

func parsePR(w *wirePR) (*Event, error) {
	repo, err := repoName(w.Repository)
	if err != nil {
		return nil, err
	}
	if w.Action == nil || *w.Action == "" {
		return nil, bad("the pull_request payload has no action")
	}
	pr := w.PullRequest
	if pr == nil {
		return nil, bad("the pull_request payload has no pull_request object")
	}
	if pr.Head == nil || pr.Head.SHA == "" || pr.Head.Ref == "" {
		return nil, bad("the pull_request payload has no pull_request.head.ref and head.sha")
	}
	if pr.Base == nil || pr.Base.Ref == "" {
		return nil, bad("the pull_request payload has no pull_request.base.ref")
	}
	n := w.Number
	if n == 0 {
		n = pr.Number
	}
	return &Event{Type: EventPullRequest, Repository: repo, PR: &PullRequest{
		Action: *w.Action, Number: n, HeadRef: pr.Head.Ref, HeadSHA: pr.Head.SHA,
		BaseRef: pr.Base.Ref, BaseSHA: pr.Base.SHA, Merged: pr.Merged,
	}}, nil
}
