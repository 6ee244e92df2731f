package deployed

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/service"
)

const (
	testPool    = "us-east-1_Example01"
	testPoolARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/" + testPool
)

// readEvent reads an API Gateway v2 event of testdata/ (or events/ at the
// module's root), strictly: a member the SDK's type lacks fails the test.
func readEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ev events.APIGatewayV2HTTPRequest
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ev
}

// builtins returns the built-in policies of the names.
func builtins(names ...string) []*auth.Policy {
	var out []*auth.Policy
	for _, n := range names {
		p, _ := auth.Builtin(n)
		out = append(out, p)
	}
	return out
}

// seen is what the handler behind GatewayCallers saw of a request.
type seen struct {
	called     bool
	caller     service.Caller
	path       string
	query      string
	principals []string // whose policies the lookup was asked for
}

// recorder is a handler that records what it saw, the lookup asked for
// every principal that applies to the caller.
func recorder(s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		s.caller = service.CallerFrom(r.Context())
		s.path, s.query = r.URL.Path, r.URL.RawQuery
		lookup := GatewayPolicies(func(_ context.Context, p string) ([]*auth.Policy, error) {
			s.principals = append(s.principals, p)
			return nil, nil
		})
		if _, err := lookup(r.Context(), s.caller); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestGatewayCallers(t *testing.T) {
	g := Gateway{Region: "us-east-1", Account: "123456789012", UserPoolID: testPool}
	samples := filepath.Join("..", "..", "events")
	tests := []struct {
		name   string
		file   string
		change func(*events.APIGatewayV2HTTPRequest)
		status int // 204: passed on; 403: refused
		want   seen
	}{
		{name: "REST, IAM user", file: filepath.Join(samples, "api.rest-list-pipelines.json"), status: 204,
			want: seen{caller: service.Caller{Principal: "arn:aws:iam::123456789012:user/release-engineer", Door: service.DoorREST, Verified: true, GatewayAuthorized: true},
				path: "/v1/pipelines", principals: []string{"arn:aws:iam::123456789012:user/release-engineer"}}},
		{name: "REST, assumed-role session (X-Stageflow-User ignored)", file: "testdata/gateway.rest-assumed-role.json", status: 204,
			want: seen{caller: service.Caller{Principal: "arn:aws:sts::123456789012:assumed-role/StageflowDeployer/alice@example.com", Door: service.DoorREST, Verified: true, GatewayAuthorized: true},
				path: "/v1/pipelines/release", principals: []string{"arn:aws:sts::123456789012:assumed-role/StageflowDeployer/alice@example.com", "arn:aws:iam::123456789012:role/StageflowDeployer"}}},
		{name: "CodePipeline's IAM route, a job worker's role session", file: "testdata/gateway.codepipeline-iam-route.json", status: 204,
			want: seen{caller: service.Caller{Principal: "arn:aws:sts::123456789012:assumed-role/StageflowJobWorker/i-0123456789abcdef0", Door: service.DoorCodePipeline, Verified: true, GatewayAuthorized: true},
				path: "/", principals: []string{"arn:aws:sts::123456789012:assumed-role/StageflowJobWorker/i-0123456789abcdef0", "arn:aws:iam::123456789012:role/StageflowJobWorker"}}},
		{name: "CodePipeline sample of events/ (IAM at POST /)", file: filepath.Join(samples, "api.codepipeline-list-pipelines.json"), status: 204,
			want: seen{caller: service.Caller{Principal: "arn:aws:iam::123456789012:user/release-engineer", Door: service.DoorCodePipeline, Verified: true, GatewayAuthorized: true},
				path: "/", principals: []string{"arn:aws:iam::123456789012:user/release-engineer"}}},
		{name: "CodePipeline's open route: nothing established", file: "testdata/gateway.codepipeline-open-route.json", status: 204,
			want: seen{caller: service.Caller{Principal: service.Anonymous}, path: "/"}},
		{name: "console, Cognito user and its groups, prefix stripped", file: "testdata/gateway.console-jwt.json", status: 204,
			want: seen{caller: service.Caller{Principal: testPoolARN + "/user/alice", Door: service.DoorREST, Verified: true,
				Policies: builtins(auth.ApproverAccess, auth.ReadOnlyAccess)},
				path: "/v1/pipelines", query: "maxResults=10",
				principals: []string{testPoolARN + "/user/alice", testPoolARN + "/group/StageflowApprovers", testPoolARN + "/group/StageflowReadOnly"}}},
		{name: "console, an ID token (cognito:username), one group", file: "testdata/gateway.console-jwt.json", status: 204,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				c := ev.RequestContext.Authorizer.JWT.Claims
				delete(c, "username")
				c["cognito:username"], c["cognito:groups"], c["token_use"] = "bob", "[StageflowAdmins Testers]", "id"
			},
			want: seen{caller: service.Caller{Principal: testPoolARN + "/user/bob", Door: service.DoorREST, Verified: true,
				Policies: builtins(auth.FullAccess, auth.StageflowFullAccess)},
				path: "/v1/pipelines", query: "maxResults=10", principals: []string{testPoolARN + "/user/bob", testPoolARN + "/group/StageflowAdmins", testPoolARN + "/group/Testers"}}},
		{name: "console, no groups", file: "testdata/gateway.console-jwt.json", status: 204,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				delete(ev.RequestContext.Authorizer.JWT.Claims, "cognito:groups")
			},
			want: seen{caller: service.Caller{Principal: testPoolARN + "/user/alice", Door: service.DoorREST, Verified: true},
				path: "/v1/pipelines", query: "maxResults=10", principals: []string{testPoolARN + "/user/alice"}}},
		{name: "console, a token of another user pool", file: "testdata/gateway.console-jwt.json", status: 403,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.Authorizer.JWT.Claims["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other0001"
			}},
		{name: "console, no JWT authorizer", file: "testdata/gateway.console-jwt.json", status: 403,
			change: func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.Authorizer = nil }},
		{name: "console, IAM instead of JWT", file: "testdata/gateway.console-jwt.json", status: 403,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/x"}}
			}},
		{name: "console, a user name with spaces falls back to sub", file: "testdata/gateway.console-jwt.json", status: 204,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.Authorizer.JWT.Claims["username"] = "alice smith"
				ev.RequestContext.Authorizer.JWT.Claims["cognito:groups"] = "[]"
			},
			want: seen{caller: service.Caller{Principal: testPoolARN + "/user/a1b2c3d4-0000-4000-8000-00000000beef", Door: service.DoorREST, Verified: true},
				path: "/v1/pipelines", query: "maxResults=10", principals: []string{testPoolARN + "/user/a1b2c3d4-0000-4000-8000-00000000beef"}}},
		{name: "IAM, no principal ARN", file: "testdata/gateway.rest-assumed-role.json", status: 403,
			change: func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.Authorizer.IAM.UserARN = "" }},
		{name: "IAM, a principal ARN with a space", file: "testdata/gateway.rest-assumed-role.json", status: 403,
			change: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.Authorizer.IAM.UserARN = "arn:aws:iam::123456789012:user/a b"
			}},
		{name: "REST route without an authorizer: no caller", file: filepath.Join(samples, "api.rest-list-pipelines.json"), status: 204,
			change: func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.Authorizer = nil },
			want:   seen{caller: service.Caller{Principal: service.Anonymous}, path: "/v1/pipelines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := readEvent(t, tt.file)
			if tt.change != nil {
				tt.change(&ev)
			}
			var got seen
			res, err := httpadapter.NewV2(g.GatewayCallers(recorder(&got))).ProxyWithContext(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, res.Body, tt.status)
			}
			if tt.status == http.StatusForbidden {
				if got.called || !strings.Contains(res.Body, `"AccessDeniedException"`) {
					t.Errorf("refused with %s, handler called: %v; want AccessDeniedException, not called", res.Body, got.called)
				}
				return
			}
			tt.want.called = true
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("the handler saw\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// A request that did not come through API Gateway (no adapter context) is
// passed on as it is: the doors establish its caller.
func TestGatewayCallersWithoutGateway(t *testing.T) {
	var got seen
	h := Gateway{Region: "us-east-1", Account: "123456789012", UserPoolID: testPool}.GatewayCallers(recorder(&got))
	r := httptest.NewRequest("GET", "/console/v1/pipelines", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !got.called || got.path != "/console/v1/pipelines" || got.caller.Verified {
		t.Errorf("saw %+v; want the request unchanged, no verified caller", got)
	}
}

func TestTokenGroups(t *testing.T) {
	tests := []struct {
		claim string
		want  []string
	}{
		{"[a b]", []string{"a", "b"}},
		{"[solo]", []string{"solo"}},
		{`["a","b"]`, []string{"a", "b"}},
		{"", nil},
		{"[]", nil},
		{"plain", []string{"plain"}},
	}
	for _, tt := range tests {
		if got := tokenGroups(tt.claim); len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("tokenGroups(%q) = %q, want %q", tt.claim, got, tt.want)
		}
	}
}

// GatewayPolicies with the service's authorizer: an IAM principal with no
// policy keeps what IAM allowed; a role's policies narrow its sessions; a
// console user gets its groups' policies and nothing without one; the
// policies are looked up once per request.
func TestGatewayPoliciesAuthorize(t *testing.T) {
	const pipeline = "arn:aws:codepipeline:us-east-1:123456789012:"
	denyProd := auth.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"codepipeline:StartPipelineExecution","Resource":"` + pipeline + `prod"}]}`)
	full, _ := auth.Builtin(auth.FullAccess)
	readOnly, _ := auth.Builtin(auth.ReadOnlyAccess)
	attached := map[string][]*auth.Policy{
		"arn:aws:iam::123456789012:role/StageflowDeployer": {full, denyProd},
		testPoolARN + "/group/StageflowReadOnly":           {readOnly},
	}
	var mu sync.Mutex
	lookups := 0
	authorize := service.NewPolicyAuthorizer(GatewayPolicies(func(_ context.Context, p string) ([]*auth.Policy, error) {
		mu.Lock()
		lookups++
		mu.Unlock()
		return attached[p], nil
	}))
	iamUser := service.Caller{Principal: "arn:aws:iam::123456789012:user/release-engineer", Door: service.DoorREST, Verified: true, GatewayAuthorized: true}
	deployer := service.Caller{Principal: "arn:aws:sts::123456789012:assumed-role/StageflowDeployer/alice", Door: service.DoorREST, Verified: true, GatewayAuthorized: true}
	console := service.Caller{Principal: testPoolARN + "/user/alice", Door: service.DoorREST, Verified: true}
	tests := []struct {
		name     string
		caller   service.Caller
		extra    []string
		op       service.Operation
		resource string
		allowed  bool
	}{
		{"IAM user, nothing attached", iamUser, nil, service.OpDeletePipeline, pipeline + "prod", true},
		{"role session, start test", deployer, []string{"arn:aws:iam::123456789012:role/StageflowDeployer"}, service.OpStartPipelineExecution, pipeline + "test", true},
		{"role session, start prod denied", deployer, []string{"arn:aws:iam::123456789012:role/StageflowDeployer"}, service.OpStartPipelineExecution, pipeline + "prod", false},
		{"console read-only group, get", console, []string{testPoolARN + "/group/StageflowReadOnly"}, service.OpGetPipeline, pipeline + "prod", true},
		{"console read-only group, start denied", console, []string{testPoolARN + "/group/StageflowReadOnly"}, service.OpStartPipelineExecution, pipeline + "prod", false},
		{"console group with no policy", console, []string{testPoolARN + "/group/Nobody"}, service.OpGetPipeline, pipeline + "prod", false},
		{"console, no group", console, nil, service.OpListPipelines, service.AllResources, false},
	}
	for _, tt := range tests {
		ctx := withCaller(context.Background(), tt.caller, tt.extra)
		lookups = 0
		for range 3 { // one request asks several times
			err := authorize(ctx, tt.op, tt.resource)
			if (err == nil) != tt.allowed {
				t.Errorf("%s: %s on %s: %v, want allowed %v", tt.name, tt.op, tt.resource, err, tt.allowed)
			}
		}
		if want := 1 + len(tt.extra); lookups != want {
			t.Errorf("%s: %d lookups for 3 checks, want %d (once per principal per request)", tt.name, lookups, want)
		}
	}
}
