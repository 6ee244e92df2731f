package cfnprovider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// responseURL is a loopback stand-in for the pre-signed ResponseURL: it
// keeps each PUT's body and content type.
type responseURL struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	types   [][]string
	methods []string
	fail    int // answer 500 to this many PUTs first
}

func newResponseURL(t *testing.T) *responseURL {
	r := &responseURL{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		r.bodies = append(r.bodies, body)
		r.types = append(r.types, req.Header.Values("Content-Type"))
		r.methods = append(r.methods, req.Method)
	}))
	t.Cleanup(r.Close)
	return r
}

// last decodes the last PUT strictly: only the documented fields.
func (r *responseURL) last(t *testing.T) Response {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		t.Fatal("no response was PUT")
	}
	i := len(r.bodies) - 1
	if r.methods[i] != http.MethodPut || len(r.types[i]) != 1 || r.types[i][0] != "" {
		t.Errorf("method %s, Content-Type %q; want PUT with an empty content type", r.methods[i], r.types[i])
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.bodies[i], &fields); err != nil {
		t.Fatal(err)
	}
	for k := range fields {
		switch k {
		case "Status", "Reason", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId", "NoEcho", "Data":
		default:
			t.Errorf("response field %s is not documented", k)
		}
	}
	if len(r.bodies[i]) > MaxResponseBytes {
		t.Errorf("response is %d bytes", len(r.bodies[i]))
	}
	var res Response
	if err := json.Unmarshal(r.bodies[i], &res); err != nil {
		t.Fatal(err)
	}
	return res
}

const (
	stack   = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/11111111-2222-3333-4444-555555555555"
	account = "123456789012"
)

func newProvider(t *testing.T, policy string) *Provider {
	t.Helper()
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), Account: account, Region: "us-east-1", NoFirstExecution: true,
		Authorize: service.NewPolicyAuthorizer(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	pol, err := PolicyOf(policy)
	if err != nil {
		t.Fatal(err)
	}
	return &Provider{Service: sys.Service, Principal: Principal(account), Policy: pol}
}

func request(url, typ, logical, physical, props, old string) json.RawMessage {
	r := Request{RequestType: typ, ResponseURL: url, StackID: stack, RequestID: "req-" + typ + "-" + logical, ResourceType: ResourceType,
		LogicalResourceID: logical, PhysicalResourceID: physical, ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:provider"}
	if props != "" {
		r.ResourceProperties = json.RawMessage(props)
	}
	if old != "" {
		r.OldResourceProperties = json.RawMessage(old)
	}
	b, _ := json.Marshal(r)
	return b
}

func withTransition(props string) string {
	return strings.Replace(props, `"Name"`, `"DisableInboundStageTransitions": [{"StageName": "Ship", "Reason": "frozen"}], "Name"`, 1)
}

// TestRequests drives a resource's life: each step's PUT body is checked
// field by field, and the service's state after it.
func TestRequests(t *testing.T) {
	p := newProvider(t, "")
	url := newResponseURL(t)
	s := &Sender{Backoff: time.Millisecond}
	ctx := t.Context()
	local := service.LocalCaller(ctx, "test")
	exists := func(name string) bool {
		_, err := p.Service.GetPipeline(local, name, 0)
		if err != nil && !errs.Is(err, errs.NotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	disabledBy := func(name, stage string) string {
		st, err := p.Service.GetPipelineState(local, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range st.StageStates {
			if ss.StageName == stage && ss.InboundTransitionState != nil && !ss.InboundTransitionState.Enabled {
				return ss.InboundTransitionState.LastChangedBy
			}
		}
		return ""
	}
	steps := []struct {
		name string
		req  json.RawMessage
		want Response
		data map[string]string
		why  string // words of the Reason
		then func(t *testing.T)
	}{
		{name: "create", req: request(url.URL, Create, "Pipe", "", withTransition(twoStages("app", "")), ""),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Create-Pipe", LogicalResourceID: "Pipe"},
			data: map[string]string{"Name": "app", "Version": "1", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app"},
			then: func(t *testing.T) {
				if by := disabledBy("app", "Ship"); by != Principal(account) {
					t.Errorf("Ship's transition disabled by %q, want the provider's principal", by)
				}
			}},
		{name: "create on a taken name", req: request(url.URL, Create, "Other", "", twoStages("app", ""), ""),
			want: Response{Status: Failed, PhysicalResourceID: "failed-req-Create-Other", RequestID: "req-Create-Other", LogicalResourceID: "Other"},
			why:  `"app" already exists`},
		{name: "the rollback's delete of the failed create", req: request(url.URL, Delete, "Other", "failed-req-Create-Other", twoStages("app", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "failed-req-Create-Other", RequestID: "req-Delete-Other", LogicalResourceID: "Other"},
			then: func(t *testing.T) {
				if !exists("app") {
					t.Error("the rollback deleted another resource's pipeline")
				}
			}},
		{name: "another resource's delete of the name", req: request(url.URL, Delete, "Other", "app", twoStages("app", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Delete-Other", LogicalResourceID: "Other"},
			then: func(t *testing.T) {
				if !exists("app") {
					t.Error("a delete by a resource that does not own the pipeline deleted it")
				}
			}},
		{name: "another resource's update", req: request(url.URL, Update, "Other", "app", twoStages("app", ""), twoStages("app", "")),
			want: Response{Status: Failed, PhysicalResourceID: "app", RequestID: "req-Update-Other", LogicalResourceID: "Other"},
			why:  "not this resource's"},
		{name: "update in place", req: request(url.URL, Update, "Pipe", "app", twoStages("app", `"RunOrder": "2"`), withTransition(twoStages("app", ""))),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			data: map[string]string{"Name": "app", "Version": "2", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app"},
			then: func(t *testing.T) {
				if by := disabledBy("app", "Ship"); by != "" {
					t.Errorf("Ship's transition is still disabled (by %q); the update no longer lists it", by)
				}
			}},
		{name: "invalid update", req: request(url.URL, Update, "Pipe", "app", twoStages("app", `"RunOrder": "zero"`), twoStages("app", "")),
			want: Response{Status: Failed, PhysicalResourceID: "app", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			why:  "Stages[0].Actions[0].RunOrder"},
		{name: "replacement", req: request(url.URL, Update, "Pipe", "app", twoStages("app2", ""), twoStages("app", "")),
			want: Response{Status: Success, PhysicalResourceID: "app2", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			data: map[string]string{"Name": "app2", "Version": "1", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app2"},
			then: func(t *testing.T) {
				if !exists("app") || !exists("app2") {
					t.Error("a replacement keeps the old pipeline until CloudFormation deletes it")
				}
			}},
		{name: "another resource's create", req: request(url.URL, Create, "Third", "", twoStages("app3", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "app3", RequestID: "req-Create-Third", LogicalResourceID: "Third"},
			data: map[string]string{"Name": "app3", "Version": "1", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app3"}},
		{name: "replacement onto a taken name", req: request(url.URL, Update, "Pipe", "app2", twoStages("app3", ""), twoStages("app2", "")),
			want: Response{Status: Failed, PhysicalResourceID: "app2", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			why:  `"app3" is not this resource's`,
			then: func(t *testing.T) {
				if !exists("app2") || !exists("app3") {
					t.Error("a failed replacement must leave both pipelines")
				}
			}},
		{name: "rollback of the replacement", req: request(url.URL, Update, "Pipe", "app2", twoStages("app", ""), twoStages("app2", "")),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			data: map[string]string{"Name": "app", "Version": "3", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app"}},
		{name: "the rollback's delete of the replacement", req: request(url.URL, Delete, "Pipe", "app2", twoStages("app2", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "app2", RequestID: "req-Delete-Pipe", LogicalResourceID: "Pipe"},
			then: func(t *testing.T) {
				if !exists("app") || exists("app2") {
					t.Error("the delete must remove app2 and keep app")
				}
			}},
		{name: "replacement again", req: request(url.URL, Update, "Pipe", "app", twoStages("app2", ""), twoStages("app", "")),
			want: Response{Status: Success, PhysicalResourceID: "app2", RequestID: "req-Update-Pipe", LogicalResourceID: "Pipe"},
			data: map[string]string{"Name": "app2", "Version": "1", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:app2"}},
		{name: "delete of the replaced", req: request(url.URL, Delete, "Pipe", "app", twoStages("app", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Delete-Pipe", LogicalResourceID: "Pipe"},
			then: func(t *testing.T) {
				if exists("app") || !exists("app2") {
					t.Error("the delete must remove app and keep app2")
				}
			}},
		{name: "delete of something gone", req: request(url.URL, Delete, "Pipe", "app", twoStages("app", ""), ""),
			want: Response{Status: Success, PhysicalResourceID: "app", RequestID: "req-Delete-Pipe", LogicalResourceID: "Pipe"}},
		{name: "invalid create", req: request(url.URL, Create, "Bad", "", twoStages("bad", `"Foo": 1`), ""),
			want: Response{Status: Failed, PhysicalResourceID: "failed-req-Create-Bad", RequestID: "req-Create-Bad", LogicalResourceID: "Bad"},
			why:  "Stages[0].Actions[0].Foo: is not a property"},
		{name: "missing property", req: request(url.URL, Create, "Bad", "", strings.Replace(twoStages("bad", ""), `"Name": "bad",`, "", 1), ""),
			want: Response{Status: Failed, PhysicalResourceID: "failed-req-Create-Bad", RequestID: "req-Create-Bad", LogicalResourceID: "Bad"},
			why:  "Name"},
		{name: "no properties", req: request(url.URL, Create, "Bad", "", "", ""),
			want: Response{Status: Failed, PhysicalResourceID: "failed-req-Create-Bad", RequestID: "req-Create-Bad", LogicalResourceID: "Bad"},
			why:  "no ResourceProperties"},
		{name: "malformed request", req: json.RawMessage(`{"ResponseURL": "` + url.URL + `", "StackId": "` + stack + `", "RequestId": "r1", "LogicalResourceId": "X", "RequestType": 5}`),
			want: Response{Status: Failed, PhysicalResourceID: "failed-r1", RequestID: "r1", LogicalResourceID: "X"},
			why:  "malformed request"},
		{name: "unknown request type", req: request(url.URL, "Replace", "X", "", twoStages("x", ""), ""),
			want: Response{Status: Failed, PhysicalResourceID: "failed-req-Replace-X", RequestID: "req-Replace-X", LogicalResourceID: "X"},
			why:  `"Replace"`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := p.Serve(ctx, s, st.req); err != nil {
				t.Fatal(err)
			}
			got := url.last(t)
			st.want.StackID = stack
			if st.want.Status == Failed && !strings.Contains(got.Reason, st.why) {
				t.Errorf("Reason %q, want it to say %q", got.Reason, st.why)
			}
			if st.want.Status == Success && got.Reason != "" {
				t.Errorf("Reason %q on success", got.Reason)
			}
			gotData := got.Data
			got.Reason, got.Data = "", nil
			if !reflect.DeepEqual(got, st.want) {
				t.Errorf("response\n got %+v\nwant %+v", got, st.want)
			}
			if len(gotData) != len(st.data) {
				t.Errorf("Data %v, want %v", gotData, st.data)
			}
			for k, v := range st.data {
				if gotData[k] != v {
					t.Errorf("Data[%s] = %q, want %q", k, gotData[k], v)
				}
			}
			if st.then != nil {
				st.then(t)
			}
		})
	}
}

// TestPolicy: the provider acts under its policy: a read-only one cannot
// create; a policy that is neither a built-in nor a document is refused.
func TestPolicy(t *testing.T) {
	p := newProvider(t, auth.ReadOnlyAccess)
	url := newResponseURL(t)
	if err := p.Serve(t.Context(), &Sender{}, request(url.URL, Create, "Pipe", "", twoStages("app", ""), "")); err != nil {
		t.Fatal(err)
	}
	if got := url.last(t); got.Status != Failed || !strings.Contains(got.Reason, Principal(account)+" is not authorized to perform: codepipeline:CreatePipeline") {
		t.Errorf("got %+v, want FAILED naming the provider's principal", got)
	}
	if _, err := PolicyOf("NoSuchPolicy"); err == nil {
		t.Error("PolicyOf(NoSuchPolicy) succeeded")
	}
	if _, err := PolicyOf(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codepipeline:Get*", "Resource": "*"}]}`); err != nil {
		t.Error(err)
	}
}

// TestPanicSendsFailed: a provider that panics still answers FAILED.
func TestPanicSendsFailed(t *testing.T) {
	p := &Provider{} // no service: the Create panics
	url := newResponseURL(t)
	if err := p.Serve(t.Context(), &Sender{}, request(url.URL, Create, "Pipe", "", twoStages("app", ""), "")); err != nil {
		t.Fatal(err)
	}
	if got := url.last(t); got.Status != Failed || !strings.Contains(got.Reason, "panic") || got.PhysicalResourceID != "failed-req-Create-Pipe" {
		t.Errorf("got %+v, want FAILED with the panic", got)
	}
}

// TestDeadlineSendsFailed: with less than Margin left, the request is
// answered FAILED at once.
func TestDeadlineSendsFailed(t *testing.T) {
	p := &Provider{Service: nil}
	url := newResponseURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), Margin+time.Second)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	p.hook = func() { <-block }
	if err := p.Serve(ctx, &Sender{}, request(url.URL, Delete, "Pipe", "app", "", "")); err != nil {
		t.Fatal(err)
	}
	if got := url.last(t); got.Status != Failed || !strings.Contains(got.Reason, "deadline") || got.PhysicalResourceID != "app" {
		t.Errorf("got %+v, want FAILED for the deadline", got)
	}
}

// TestSendRetries: a failed PUT is retried.
func TestSendRetries(t *testing.T) {
	url := newResponseURL(t)
	url.fail = 2
	res := &Response{Status: Success, PhysicalResourceID: "x", StackID: stack, RequestID: "r", LogicalResourceID: "L"}
	if err := (&Sender{Backoff: time.Millisecond}).Send(t.Context(), url.URL, res); err != nil {
		t.Fatal(err)
	}
	if got := url.last(t); !reflect.DeepEqual(got, *res) {
		t.Errorf("got %+v", got)
	}
	url.fail = 10
	if err := (&Sender{Attempts: 2, Backoff: time.Millisecond}).Send(t.Context(), url.URL, res); err == nil {
		t.Error("Send succeeded with every PUT failing")
	}
}

// TestReasonWithin4KB: a long reason is cut so the body fits.
func TestReasonWithin4KB(t *testing.T) {
	for _, r := range []string{strings.Repeat("é\"<", 3000), strings.Repeat("x", 5000)} {
		body := Encode(&Response{Status: Failed, Reason: r, PhysicalResourceID: "p", StackID: stack, RequestID: "r", LogicalResourceID: "L"})
		var res Response
		if err := json.Unmarshal(body, &res); err != nil || len(body) > MaxResponseBytes || !strings.HasSuffix(res.Reason, "(truncated)") {
			t.Errorf("%d bytes, err %v, reason ends %q", len(body), err, res.Reason[max(0, len(res.Reason)-20):])
		}
	}
}
