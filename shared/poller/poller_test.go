package poller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/poller"
	"github.com/stageflow/stageflow/shared/service"
)

// heads is a scripted Heads: the head of each pipeline's action, set by the
// test (what a repository's branch points at), or an error.
type heads struct {
	mu  sync.Mutex
	rev map[string]string // action name → head
	err map[string]error
}

func (h *heads) Head(_ context.Context, a pipeline.Action) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.err[a.Name]; err != nil {
		return "", err
	}
	return h.rev[a.Name], nil
}

func (h *heads) set(action, rev string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rev[action] = rev
}

func sourcePipeline(name, action, provider, key, value string) pipeline.Pipeline {
	cfg := map[string]string{"BranchName": "main"}
	switch provider {
	case "CodeCommit":
		cfg["RepositoryName"] = "repo"
	default:
		cfg["ConnectionArn"] = "arn:aws:codeconnections:us-east-1:000000000000:connection/c"
		cfg["FullRepositoryId"] = "o/r"
	}
	if key != "" {
		cfg[key] = value
	}
	doc := fmt.Sprintf(`{"name": %q, "stages": [
	 {"name": "Source", "actions": [{"name": %q, "actionTypeId": {"category": "Source", "owner": "AWS", "provider": %q, "version": "1"},
	   "configuration": %s, "outputArtifacts": [{"name": "Src"}]}]},
	 {"name": "Gate", "actions": [{"name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}`,
		name, action, provider, mustJSON(cfg))
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		panic(err)
	}
	return d.Pipeline
}

func mustJSON(m map[string]string) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestPolled(t *testing.T) {
	for _, tc := range []struct {
		provider, key, value string
		want                 bool
	}{
		{"CodeStarSourceConnection", "", "", true},
		{"CodeStarSourceConnection", "DetectChanges", "true", true},
		{"CodeStarSourceConnection", "DetectChanges", "false", false},
		{"CodeCommit", "", "", true},
		{"CodeCommit", "PollForSourceChanges", "false", false},
		{"CodeCommit", "PollForSourceChanges", "FALSE", false},
	} {
		p := sourcePipeline("p", "Checkout", tc.provider, tc.key, tc.value)
		if got := poller.Polled(p.Stages[0].Actions[0]); got != tc.want {
			t.Errorf("%s %s=%q: Polled = %v, want %v", tc.provider, tc.key, tc.value, got, tc.want)
		}
	}
	if poller.Polled(sourcePipeline("p", "Checkout", "CodeCommit", "", "").Stages[1].Actions[0]) {
		t.Error("an approval is polled")
	}
}

// TestRounds: a new head starts one execution on it, pinned to the
// revision and recorded as PollForSourceChanges; the same head starts
// nothing again, in this poller or in a new one (a restart).
func TestRounds(t *testing.T) {
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), NoFirstExecution: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	ctx := service.LocalCaller(t.Context(), "test")
	for _, p := range []pipeline.Pipeline{
		sourcePipeline("polled", "Checkout", "CodeStarSourceConnection", "", ""),
		sourcePipeline("not-polled", "Fetch", "CodeStarSourceConnection", "DetectChanges", "false"),
		sourcePipeline("broken", "Broken", "CodeCommit", "", ""),
	} {
		if _, err := sys.Service.CreatePipeline(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	h := &heads{rev: map[string]string{"Checkout": "aaa", "Fetch": "fff"}, err: map[string]error{"Broken": errors.New("repository not found")}}
	count := func() int {
		out, err := sys.Service.ListExecutions(ctx, "polled", "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(out.PipelineExecutionSummaries)
	}
	p := &poller.Poller{Service: sys.Service, Heads: h}
	steps := []struct {
		name   string
		poller *poller.Poller
		head   string
		starts []string // revisions started
		total  int      // executions of "polled" after the round
	}{
		{"first look seeds", p, "aaa", nil, 0},
		{"unchanged", p, "aaa", nil, 0},
		{"a new commit", p, "bbb", []string{"bbb"}, 1},
		{"the same again", p, "bbb", nil, 1},
		{"another", p, "ccc", []string{"ccc"}, 2},
		{"a restarted poller, same head", &poller.Poller{Service: sys.Service, Heads: h}, "ccc", nil, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.set("Checkout", st.head)
			h.set("Fetch", st.head+"-fetch") // changes each round, never polled
			got, err := st.poller.Round(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var revs []string
			for _, s := range got {
				if s.Pipeline != "polled" || s.Action != "Checkout" {
					t.Errorf("started %+v; only polled/Checkout is polled", s)
				}
				revs = append(revs, s.Revision)
				e, err := sys.Store.GetExecution(t.Context(), s.ExecutionID)
				if err != nil {
					t.Fatal(err)
				}
				want := []engine.SourceRevision{{Action: "Checkout", Type: "COMMIT_ID", Value: s.Revision}}
				if fmt.Sprint(e.SourceRevisions) != fmt.Sprint(want) || e.Trigger.Type != poller.TriggerType || e.Trigger.Detail != "Checkout" {
					t.Errorf("execution %s: sourceRevisions %v, trigger %+v; want %v, %s/Checkout", e.ID, e.SourceRevisions, e.Trigger, want, poller.TriggerType)
				}
			}
			if fmt.Sprint(revs) != fmt.Sprint(st.starts) {
				t.Errorf("started %v, want %v", revs, st.starts)
			}
			if n := count(); n != st.total {
				t.Errorf("%d executions of polled, want %d", n, st.total)
			}
		})
	}

	// A poller that lost its memory and sees an older recorded revision
	// than the head it already started (the run never reported one): the
	// start is the same idempotent request, and nothing new runs.
	fresh := &poller.Poller{Service: sys.Service, Heads: h}
	fresh.Remember("polled", "Checkout", "aaa")
	if _, err := fresh.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d executions after a repeated start of ccc, want 2", n)
	}
}
