package api_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestStreamsOutliveServerTimeouts: an event stream stays open past the
// server's read and write timeouts (here shortened) and delivers the
// execution's end, which comes later. (It fails when the stream does not
// clear its write deadline.)
func TestStreamsOutliveServerTimeouts(t *testing.T) {
	base := apitest.NewServer(t, apitest.WithoutFirstExecution())
	const timeout = 200 * time.Millisecond
	ln := serveTimed(t, base.Handler, func(srv *http.Server) { srv.ReadTimeout, srv.WriteTimeout = timeout, timeout })
	url := "http://" + ln.Addr().String()

	doc := `{"name":"gate","stages":[{"name":"S","actions":[{"name":"Approve","actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}]}]}`
	ctx := service.LocalCaller(t.Context(), "test")
	if _, err := base.Service.CreatePipeline(ctx, mustPipeline(t, doc), nil); err != nil {
		t.Fatal(err)
	}
	e, err := base.Service.StartExecution(ctx, service.StartInput{PipelineName: "gate"})
	if err != nil {
		t.Fatal(err)
	}
	reqCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", url+"/v1/pipelines/gate/executions/"+e.ID+"/events", nil)
	resp, err := base.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	time.Sleep(3 * timeout) // the point of the test: outlive both timeouts
	if _, err := base.Service.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: "gate", Stage: "S", Action: "Approve", Status: "Approved"}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"status":"Succeeded"`) {
			return
		}
	}
	t.Fatalf("the stream ended before the execution did: %v", sc.Err())
}

func mustPipeline(t *testing.T, doc string) pipeline.Pipeline {
	t.Helper()
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d.Pipeline
}
