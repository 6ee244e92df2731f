package githubhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stageflow/stageflow/shared/api/githubhook"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// serviceBackend is the Backend over a real embedded system, as the lead
// wires it (with the connection's secret from the connections store).
type serviceBackend struct{ svc *service.Service }

func (b serviceBackend) TriggerSecret(_ context.Context, id string) ([]byte, string, error) {
	if id != "c1" {
		return nil, "", errs.New(errs.NotFound, "no connection %s", id)
	}
	return []byte(secret), conn, nil
}

func (b serviceBackend) Pipelines(ctx context.Context) ([]*pipeline.Pipeline, error) {
	list, err := b.svc.ListPipelines(ctx, 0, "")
	if err != nil {
		return nil, err
	}
	var out []*pipeline.Pipeline
	for _, s := range list.Pipelines {
		got, err := b.svc.GetPipeline(ctx, s.Name, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, &got.Pipeline)
	}
	return out, nil
}

func (b serviceBackend) Start(ctx context.Context, name string, revs []engine.SourceRevision, typ, detail string) (string, error) {
	e, err := b.svc.StartExecution(ctx, service.StartInput{PipelineName: name, SourceRevisions: revs, TriggerType: typ, TriggerDetail: detail})
	if err != nil {
		return "", err
	}
	return e.ID, nil
}

func TestEndpointThroughEmbeddedSystem(t *testing.T) {
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), AuthNone: true, NoFirstExecution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(context.Background())
	ctx := context.Background()
	for _, p := range []*pipeline.Pipeline{
		source("fires", "acme/app", "main", nil),
		source("waits", "acme/app", "release", nil),
	} {
		p.PipelineType = "V2"
		p.Stages[0].Actions[0].OutputArtifacts = []pipeline.OutputArtifact{{Name: "src"}}
		p.Stages = append(p.Stages, pipeline.Stage{Name: "Build", Actions: []pipeline.Action{{
			Name: "Build", ActionTypeID: pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"},
			InputArtifacts: []pipeline.InputArtifact{{Name: "src"}}, Commands: []string{"true"},
		}}})
		p.Stages[0].Actions[0].ActionTypeID.Version = "1"
		if _, err := sys.Service.CreatePipeline(ctx, *p, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(&githubhook.Handler{Backend: serviceBackend{sys.Service}, ConnectionID: func(*http.Request) string { return "c1" }})
	defer srv.Close()
	body := sample(t, "github.push.json")
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(body, secret))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out githubhook.Response
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(out.Started) != 1 || out.Started[0].Pipeline != "fires" ||
		len(out.NotStarted) != 1 || out.NotStarted[0].Pipeline != "waits" {
		t.Fatalf("status %d, answer %+v", res.StatusCode, out)
	}
	e, err := sys.Store.GetExecution(ctx, out.Started[0].ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Trigger.Type != "WebhookV2" || e.Trigger.Detail != conn {
		t.Errorf("trigger %+v", e.Trigger)
	}
	want := engine.SourceRevision{Action: "Src", Type: "COMMIT_ID", Value: "2222222222222222222222222222222222222222"}
	if len(e.SourceRevisions) != 1 || e.SourceRevisions[0] != want {
		t.Errorf("source revisions %+v", e.SourceRevisions)
	}
	got, err := sys.Service.GetExecution(ctx, "fires", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trigger.TriggerType != "WebhookV2" || got.Trigger.TriggerDetail != conn {
		t.Errorf("GetPipelineExecution trigger %+v", got.Trigger)
	}
}
