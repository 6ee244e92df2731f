package dynamo_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// A finished job gets a TTL and is gone for the store once it passed, though
// DynamoDB still holds it; an unfinished one never expires.
func TestJobTTL(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := newStore(t, dynamo.Options{JobRetention: time.Hour, Now: clk.now})
	ctx := t.Context()
	typ := pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Shell", Version: "1"}
	done := &store.Job{ID: "job-done", ActionTypeID: typ}
	open := &store.Job{ID: "job-open", ActionTypeID: typ, Status: store.JobInProgress}
	for _, j := range []*store.Job{done, open} {
		if err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	done.Status = store.JobSucceeded
	if err := s.UpdateJob(ctx, done); err != nil {
		t.Fatal(err)
	}
	clk.add(59 * time.Minute)
	if _, err := s.GetJob(ctx, "job-done"); err != nil {
		t.Fatalf("finished job before its TTL: %v", err)
	}
	clk.add(2 * time.Minute)
	_, err := s.GetJob(ctx, "job-done")
	wantCode(t, "GetJob past the TTL", err, errs.NotFound)
	stale := *done
	wantCode(t, "UpdateJob past the TTL", s.UpdateJob(ctx, &stale), errs.NotFound)
	if _, err := s.GetJob(ctx, "job-open"); err != nil {
		t.Fatalf("unfinished job: %v", err)
	}
	// The ID is free again.
	again := &store.Job{ID: "job-done", ActionTypeID: typ}
	if err := s.CreateJob(ctx, again); err != nil {
		t.Fatalf("CreateJob over an expired job: %v", err)
	}
	got, err := s.GetJob(ctx, "job-done")
	if err != nil || got.Status != store.JobQueued || got.Version != 1 {
		t.Fatalf("recreated job = %+v, %v; want Queued version 1", got, err)
	}
}

// CreateTable enables TTL on the attribute the store sets.
func TestCreateTableEnablesTTL(t *testing.T) {
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	out, err := c.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	d := out.TimeToLiveDescription
	if d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != dynamo.TTLAttribute {
		t.Fatalf("time to live = %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), dynamo.TTLAttribute)
	}
}

// A page token is bound to its listing: one from another listing, another
// pipeline or another status filter, or one naming a key of its own making,
// is refused.
func TestPageTokensAreBound(t *testing.T) {
	s := newStore(t, dynamo.Options{})
	ctx := t.Context()
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		if err := s.CreatePipeline(ctx, &store.Pipeline{Name: name, Declaration: pipeline.Pipeline{Name: name}}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			e := &engine.Execution{ID: fmt.Sprintf("%s-%d", name, i), PipelineName: name, Status: engine.Succeeded,
				StartTime: time.Unix(int64(1000+i), 0)}
			if _, _, err := s.CreateExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, pipeTok, err := s.ListPipelines(ctx, store.Page{Limit: 1})
	if err != nil || pipeTok == "" {
		t.Fatalf("ListPipelines: token %q, %v", pipeTok, err)
	}
	alpha := store.ExecutionFilter{PipelineName: "alpha"}
	_, execTok, err := s.ListExecutions(ctx, alpha, store.Page{Limit: 1})
	if err != nil || execTok == "" {
		t.Fatalf("ListExecutions: token %q, %v", execTok, err)
	}
	if _, _, err := s.ListExecutions(ctx, alpha, store.Page{Limit: 1, Token: execTok}); err != nil {
		t.Fatalf("the token of the listing itself: %v", err)
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"executions","f":"alpha\u0000","n":"x\"}","s":1}`))
	tests := []struct {
		name string
		list func(token string) error
		tok  string
	}{
		{"executions token to pipelines", func(tok string) error { _, _, err := s.ListPipelines(ctx, store.Page{Token: tok}); return err }, execTok},
		{"pipelines token to executions", func(tok string) error { _, _, err := s.ListExecutions(ctx, alpha, store.Page{Token: tok}); return err }, pipeTok},
		{"other pipeline", func(tok string) error {
			_, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "bravo"}, store.Page{Token: tok})
			return err
		}, execTok},
		{"other status filter", func(tok string) error {
			_, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha", Status: engine.Failed}, store.Page{Token: tok})
			return err
		}, execTok},
		{"raw key", func(tok string) error { _, _, err := s.ListPipelines(ctx, store.Page{Token: tok}); return err },
			base64.RawURLEncoding.EncodeToString([]byte(`{"pk":{"S":"E#alpha-1"},"sk":{"S":"0"}}`))},
		{"not base64", func(tok string) error { _, _, err := s.ListPipelines(ctx, store.Page{Token: tok}); return err }, "!!"},
		{"huge", func(tok string) error { _, _, err := s.ListPipelines(ctx, store.Page{Token: tok}); return err }, strings.Repeat("A", 10000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.list(tc.tok)
			if e, ok := errs.As(err); !ok || e.Code != errs.Validation || e.Kind != errs.KindNextToken {
				t.Fatalf("got %v, want a Validation error of kind NextToken", err)
			}
		})
	}
	// A made-up position inside the listing is harmless: it only moves
	// within alpha's executions.
	if _, _, err := s.ListExecutions(ctx, alpha, store.Page{Token: forged}); err != nil {
		t.Fatalf("a made-up position in the listing: %v", err)
	}
}

// Throttling is retried by the SDK's retryer, with its backoff: the first
// answer is a throttling error, the second a success.
func TestThrottlingIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c, err := dynamo.NewClient(t.Context(), dynamo.ClientOptions{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "x", SecretAccessKey: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Options().Retryer.MaxAttempts(); got != dynamo.MaxAttempts {
		t.Fatalf("retryer max attempts = %d, want %d", got, dynamo.MaxAttempts)
	}
	s, err := dynamo.New(c, dynamo.Options{Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = s.GetJob(ctx, "j")
	wantCode(t, "GetJob after one throttling answer", err, errs.NotFound)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d requests, want 2 (one retry)", n)
	}
}
