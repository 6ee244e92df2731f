package triggers

import (
	"context"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// TriggerTypeV2 is the ExecutionTrigger triggerType CodePipeline records
// for an execution a V2 trigger started.
const TriggerTypeV2 = "WebhookV2"

const providerConnection = "CodeStarSourceConnection"

// Options are what Evaluate needs beyond the pipeline and the event.
type Options struct {
	// ConnectionArn is the connection the event came through; source actions
	// of other connections do not count. Empty counts every connection
	// (`stageflow trigger test` without --connection).
	ConnectionArn string
	// ChangedFiles lists the paths changed between base and head of repo,
	// for events that do not carry them (pull_request). Optional.
	ChangedFiles func(ctx context.Context, repo, base, head string) ([]string, error)
}

// Finding is one reason: a filter that matched, or why it did not.
type Finding struct {
	Action  string `json:"action"`
	Filter  string `json:"filter"` // "push[0]", "pullRequest[1]", "default" (no trigger) or "action"
	Matched bool   `json:"matched"`
	Reason  string `json:"reason"`
}

// Result is the verdict for one pipeline.
type Result struct {
	Pipeline      string                  `json:"pipelineName"`
	Fired         bool                    `json:"fired"`
	Revisions     []engine.SourceRevision `json:"sourceRevisions,omitempty"`
	TriggerType   string                  `json:"triggerType,omitempty"`
	TriggerDetail string                  `json:"triggerDetail,omitempty"`
	Findings      []Finding               `json:"findings"`
}

// Evaluator evaluates many pipelines against one event, asking for the
// changed files at most once.
type Evaluator struct {
	ev       *Event
	opts     Options
	files    []string
	filesErr error
	filesOK  bool
}

// NewEvaluator prepares the evaluation of ev.
func NewEvaluator(ev *Event, opts Options) *Evaluator {
	e := &Evaluator{ev: ev, opts: opts}
	if ev.Push != nil && len(ev.Push.Files) > 0 {
		e.files, e.filesOK = ev.Push.Files, true
	}
	return e
}

// Evaluate decides whether p starts for the event, and why.
func (e *Evaluator) Evaluate(ctx context.Context, p *pipeline.Pipeline) Result {
	r := Result{Pipeline: p.Name, Findings: []Finding{}}
	byAction := map[string]*pipeline.Trigger{}
	for i := range p.Triggers {
		t := &p.Triggers[i]
		byAction[t.GitConfiguration.SourceActionName] = t
	}
	var none []Finding
	for _, st := range p.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Category != "Source" || a.ActionTypeID.Provider != providerConnection {
				continue
			}
			if why := e.foreign(a); why != "" {
				none = append(none, Finding{Action: a.Name, Filter: "action", Reason: why})
				continue
			}
			var found []Finding
			if t, ok := byAction[a.Name]; ok {
				found = e.trigger(ctx, a.Name, t)
			} else {
				found = []Finding{e.defaultStart(a)}
			}
			fired := false
			for _, f := range found {
				fired = fired || f.Matched
			}
			if fired {
				r.Revisions = append(r.Revisions, engine.SourceRevision{Action: a.Name, Type: "COMMIT_ID", Value: e.commit()})
				for _, f := range found {
					if f.Matched {
						r.Findings = append(r.Findings, f)
						break // the first matching filter is the reason
					}
				}
			} else {
				none = append(none, found...)
			}
		}
	}
	if len(r.Revisions) > 0 {
		r.Fired = true
		r.TriggerType = TriggerTypeV2
		r.TriggerDetail = e.opts.ConnectionArn
		return r
	}
	if len(none) == 0 {
		none = []Finding{{Filter: "action", Reason: "the pipeline has no CodeStarSourceConnection source action"}}
	}
	r.Findings = none
	return r
}

// foreign says why a source action does not watch the event's repository
// and connection, or "" when it does.
func (e *Evaluator) foreign(a pipeline.Action) string {
	repo := a.Configuration["FullRepositoryId"]
	if !strings.EqualFold(repo, e.ev.Repository) {
		return fmt.Sprintf("the action watches repository %q, not %q", repo, e.ev.Repository)
	}
	if e.opts.ConnectionArn != "" && a.Configuration["ConnectionArn"] != e.opts.ConnectionArn {
		return fmt.Sprintf("the action's ConnectionArn %q is not the event's connection %q", a.Configuration["ConnectionArn"], e.opts.ConnectionArn)
	}
	return ""
}

func (e *Evaluator) commit() string {
	if e.ev.PR != nil {
		return e.ev.PR.HeadSHA
	}
	return e.ev.Push.Commit
}

// defaultStart is CodePipeline's behaviour without a trigger: a push to the
// action's BranchName starts the pipeline unless DetectChanges is false.
func (e *Evaluator) defaultStart(a pipeline.Action) Finding {
	f := Finding{Action: a.Name, Filter: "default"}
	branch := a.Configuration["BranchName"]
	switch {
	case strings.EqualFold(a.Configuration["DetectChanges"], "false"):
		f.Reason = "no trigger, and DetectChanges is false"
	case e.ev.Push == nil:
		f.Reason = "no trigger: only a push to BranchName " + branch + " starts the pipeline, not a pull request"
	case e.ev.Push.Deleted:
		f.Reason = "the push deletes " + e.ev.Push.Ref
	case e.ev.Push.Branch == "":
		f.Reason = "no trigger: only a push to BranchName " + branch + " starts the pipeline, not tag " + e.ev.Push.Tag
	case e.ev.Push.Branch != branch:
		f.Reason = fmt.Sprintf("no trigger: branch %s is not the action's BranchName %s", e.ev.Push.Branch, branch)
	default:
		f.Matched, f.Reason = true, "no trigger: a push to the action's BranchName "+branch
	}
	return f
}

func (e *Evaluator) trigger(ctx context.Context, action string, t *pipeline.Trigger) []Finding {
	g := t.GitConfiguration
	var out []Finding
	switch {
	case e.ev.Push != nil:
		if len(g.Push) == 0 {
			return []Finding{{Action: action, Filter: "push", Reason: "the trigger has no push filter"}}
		}
		for i, f := range g.Push {
			ok, why := e.pushFilter(ctx, f)
			out = append(out, Finding{Action: action, Filter: fmt.Sprintf("push[%d]", i), Matched: ok, Reason: why})
		}
	case e.ev.PR != nil:
		if len(g.PullRequest) == 0 {
			return []Finding{{Action: action, Filter: "pullRequest", Reason: "the trigger has no pullRequest filter"}}
		}
		for i, f := range g.PullRequest {
			ok, why := e.prFilter(ctx, f)
			out = append(out, Finding{Action: action, Filter: fmt.Sprintf("pullRequest[%d]", i), Matched: ok, Reason: why})
		}
	}
	return out
}

func (e *Evaluator) pushFilter(ctx context.Context, f pipeline.GitPushFilter) (bool, string) {
	p := e.ev.Push
	if p.Deleted {
		return false, "the push deletes " + p.Ref
	}
	if f.Tags != nil {
		if p.Tag == "" {
			return false, "branch " + p.Branch + " pushed; this filter selects tags"
		}
		if ok, why := names("tag", p.Tag, "tags", f.Tags); !ok {
			return false, why
		}
		return true, "tag " + p.Tag + " matches tags " + describe(f.Tags)
	}
	if p.Tag != "" {
		return false, "tag " + p.Tag + " pushed; this filter selects branches"
	}
	if f.Branches != nil {
		if ok, why := names("branch", p.Branch, "branches", f.Branches); !ok {
			return false, why
		}
	}
	if f.FilePaths != nil {
		if ok, why := e.paths(ctx, f.FilePaths); !ok {
			return false, why
		}
	}
	return true, "branch " + p.Branch + " push matches" + criteriaSummary(f.Branches, f.FilePaths)
}

// prEvent maps a pull_request action to CodePipeline's event names:
// opened/reopened are OPEN, synchronize (a new revision) is UPDATED,
// closed (merged or not) is CLOSED.
func prEvent(action string) string {
	switch action {
	case "opened", "reopened":
		return "OPEN"
	case "synchronize":
		return "UPDATED"
	case "closed":
		return "CLOSED"
	}
	return ""
}

func (e *Evaluator) prFilter(ctx context.Context, f pipeline.GitPullRequestFilter) (bool, string) {
	pr := e.ev.PR
	kind := prEvent(pr.Action)
	if kind == "" {
		return false, fmt.Sprintf("pull request action %q is none of OPEN, UPDATED, CLOSED", pr.Action)
	}
	if len(f.Events) > 0 {
		in := false
		for _, ev := range f.Events {
			in = in || ev == kind
		}
		if !in {
			return false, fmt.Sprintf("pull request event %s (%s) is not in events [%s]", kind, pr.Action, strings.Join(f.Events, " "))
		}
	}
	if f.Branches != nil {
		if ok, why := names("destination branch", pr.BaseRef, "branches", f.Branches); !ok {
			return false, why
		}
	}
	if f.FilePaths != nil {
		if ok, why := e.paths(ctx, f.FilePaths); !ok {
			return false, why
		}
	}
	return true, fmt.Sprintf("pull request #%d %s into %s matches%s", pr.Number, kind, pr.BaseRef, criteriaSummary(f.Branches, f.FilePaths))
}

func criteriaSummary(branches, files *pipeline.FilterCriteria) string {
	s := ""
	if branches != nil {
		s += " branches " + describe(branches)
	}
	if files != nil {
		s += " filePaths " + describe(files)
	}
	return s
}

func describe(c *pipeline.FilterCriteria) string {
	var parts []string
	if len(c.Includes) > 0 {
		parts = append(parts, "includes ["+strings.Join(c.Includes, " ")+"]")
	}
	if len(c.Excludes) > 0 {
		parts = append(parts, "excludes ["+strings.Join(c.Excludes, " ")+"]")
	}
	return strings.Join(parts, " ")
}

// match reports whether name matches one of patterns; a pattern that is not
// a valid glob is an error naming it.
func match(patterns []string, name string) (bool, error) {
	for _, pat := range patterns {
		ok, err := doublestar.Match(pat, name)
		if err != nil {
			return false, fmt.Errorf("pattern %q is not a valid glob", pat)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// names checks one name (a branch or tag) against include/exclude criteria:
// excludes win; with includes, one must match.
func names(what, name, field string, c *pipeline.FilterCriteria) (bool, string) {
	ex, err := match(c.Excludes, name)
	if err != nil {
		return false, err.Error()
	}
	if ex {
		return false, fmt.Sprintf("%s %s is excluded by %s excludes [%s]", what, name, field, strings.Join(c.Excludes, " "))
	}
	if len(c.Includes) > 0 {
		in, err := match(c.Includes, name)
		if err != nil {
			return false, err.Error()
		}
		if !in {
			return false, fmt.Sprintf("%s %s is not in %s includes [%s]", what, name, field, strings.Join(c.Includes, " "))
		}
	}
	return true, ""
}

func (e *Evaluator) changed(ctx context.Context) ([]string, error) {
	if e.filesOK || e.filesErr != nil {
		return e.files, e.filesErr
	}
	base, head := "", ""
	switch {
	case e.ev.PR != nil:
		base, head = e.ev.PR.BaseSHA, e.ev.PR.HeadSHA
	case e.ev.Push != nil && e.ev.Push.Before != "" && e.ev.Push.Before != zeroSHA:
		base, head = e.ev.Push.Before, e.ev.Push.Commit
	}
	if e.opts.ChangedFiles == nil || base == "" {
		e.filesErr = fmt.Errorf("the event carries no changed file paths and none can be read from the repository")
		return nil, e.filesErr
	}
	e.files, e.filesErr = e.opts.ChangedFiles(ctx, e.ev.Repository, base, head)
	if e.filesErr != nil {
		e.filesErr = fmt.Errorf("cannot list the changed file paths: %w", e.filesErr)
	}
	e.filesOK = e.filesErr == nil
	return e.files, e.filesErr
}

// paths matches when one changed path is included and not excluded.
func (e *Evaluator) paths(ctx context.Context, c *pipeline.FilterCriteria) (bool, string) {
	files, err := e.changed(ctx)
	if err != nil {
		return false, "file paths: " + err.Error()
	}
	list := "[" + strings.Join(files, " ") + "]"
	if len(files) > 10 {
		list = "[" + strings.Join(files[:10], " ") + fmt.Sprintf(" … %d more]", len(files)-10)
	}
	excluded := 0
	for _, f := range files {
		ex, err := match(c.Excludes, f)
		if err != nil {
			return false, "file paths: " + err.Error()
		}
		if ex {
			excluded++
			continue
		}
		if len(c.Includes) == 0 {
			return true, ""
		}
		in, err := match(c.Includes, f)
		if err != nil {
			return false, "file paths: " + err.Error()
		}
		if in {
			return true, ""
		}
	}
	switch {
	case len(files) == 0:
		return false, "file paths: the event changes no files"
	case excluded == len(files):
		return false, fmt.Sprintf("file paths: all of %s are excluded by excludes [%s]", list, strings.Join(c.Excludes, " "))
	}
	return false, fmt.Sprintf("file paths: none of %s match includes [%s]", list, strings.Join(c.Includes, " "))
}

// Evaluate evaluates each pipeline against ev.
func Evaluate(ctx context.Context, ev *Event, pipelines []*pipeline.Pipeline, opts Options) []Result {
	e := NewEvaluator(ev, opts)
	out := make([]Result, 0, len(pipelines))
	for _, p := range pipelines {
		out = append(out, e.Evaluate(ctx, p))
	}
	return out
}
