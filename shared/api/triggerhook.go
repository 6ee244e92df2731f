package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/stageflow/stageflow/shared/api/githubhook"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TriggerPathPrefix is where the connections' GitHub-compatible event
// endpoints are: POST /webhooks/connections/<connection ID>. The route is
// open (no SigV4): the handler verifies X-Hub-Signature-256 with the
// connection's trigger secret itself.
const TriggerPathPrefix = "/webhooks/connections/"

// newTriggerHandler serves the event endpoints over the service.
func newTriggerHandler(svc *service.Service, changed func(ctx context.Context, connectionArn, repo, base, head string) ([]string, error)) http.Handler {
	return &githubhook.Handler{
		Backend:      triggerBackend{svc},
		ChangedFiles: changed,
		ConnectionID: func(r *http.Request) string {
			id := strings.TrimPrefix(r.URL.Path, TriggerPathPrefix)
			if strings.Contains(id, "/") {
				return ""
			}
			return id
		},
	}
}

// triggerBackend is githubhook's Backend over the service. A verified event
// acts as its connection: the executions it starts record the connection's
// ARN as the principal (a local caller of the service), and it starts only
// pipelines whose source action names that connection (githubhook checks).
type triggerBackend struct{ svc *service.Service }

func (b triggerBackend) TriggerSecret(ctx context.Context, id string) ([]byte, string, error) {
	return b.svc.ConnectionTriggerSecret(ctx, id)
}

func (b triggerBackend) Pipelines(ctx context.Context) ([]*pipeline.Pipeline, error) {
	var out []*pipeline.Pipeline
	err := b.svc.EachPipeline(service.LocalCaller(ctx, "stageflow-triggers"), func(p *pipeline.Pipeline) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

func (b triggerBackend) Start(ctx context.Context, name string, revs []engine.SourceRevision, typ, detail string) (string, error) {
	ctx = service.LocalCaller(ctx, detail)
	e, err := b.svc.StartExecution(ctx, service.StartInput{PipelineName: name, SourceRevisions: revs, TriggerType: typ, TriggerDetail: detail})
	if err != nil {
		return "", err
	}
	return e.ID, nil
}
