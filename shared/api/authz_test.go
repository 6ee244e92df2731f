package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

// denyAll records every question it is asked and denies it.
type denyAll struct {
	mu    sync.Mutex
	asked []question
}

type question struct {
	op        service.Operation
	resource  string
	principal string
	door      string
}

func (d *denyAll) authorize(ctx context.Context, op service.Operation, resource string) error {
	c := service.CallerFrom(ctx)
	d.mu.Lock()
	d.asked = append(d.asked, question{op, resource, c.Principal, c.Door})
	d.mu.Unlock()
	return service.Denied(ctx, op, resource)
}

func (d *denyAll) take() []question {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.asked
	d.asked = nil
	return q
}

const (
	arnPrefix  = "arn:aws:codepipeline:" + apitest.Region + ":" + apitest.Account + ":"
	someUUID   = "3137f7cb-8d8a-4c5a-bd39-93bcae9dd5d9"
	pipelineJS = `{"name":"p","stages":[{"name":"S","actions":[{"name":"A","actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},"commands":["true"]}]}]}`
	customType = `{"category":"Build","owner":"Custom","provider":"Tool","version":"1"}`
)

// cpRequests has a valid request for every operation the CodePipeline door
// implements, the operation and resource the service must ask about.
var cpRequests = map[string]struct {
	body, resource string
}{
	"CreatePipeline":         {`{"pipeline":` + pipelineJS + `}`, arnPrefix + "p"},
	"GetPipeline":            {`{"name":"p"}`, arnPrefix + "p"},
	"UpdatePipeline":         {`{"pipeline":` + pipelineJS + `}`, arnPrefix + "p"},
	"DeletePipeline":         {`{"name":"p"}`, arnPrefix + "p"},
	"ListPipelines":          {`{}`, "*"},
	"GetPipelineState":       {`{"name":"p"}`, arnPrefix + "p"},
	"StartPipelineExecution": {`{"name":"p"}`, arnPrefix + "p"},
	"StopPipelineExecution":  {`{"pipelineName":"p","pipelineExecutionId":"` + someUUID + `"}`, arnPrefix + "p"},
	"GetPipelineExecution":   {`{"pipelineName":"p","pipelineExecutionId":"` + someUUID + `"}`, arnPrefix + "p"},
	"ListPipelineExecutions": {`{"pipelineName":"p"}`, arnPrefix + "p"},
	"ListActionExecutions":   {`{"pipelineName":"p"}`, arnPrefix + "p"},
	"PutApprovalResult":      {`{"pipelineName":"p","stageName":"S","actionName":"A","token":"` + someUUID + `","result":{"summary":"","status":"Approved"}}`, arnPrefix + "p/S/A"},
	"CreateCustomActionType": {`{"category":"Build","provider":"Tool","version":"1","inputArtifactDetails":{"minimumCount":0,"maximumCount":1},"outputArtifactDetails":{"minimumCount":0,"maximumCount":1}}`, arnPrefix + "actiontype:Custom/Build/Tool/1"},
	"DeleteCustomActionType": {`{"category":"Build","provider":"Tool","version":"1"}`, arnPrefix + "actiontype:Custom/Build/Tool/1"},
	"ListActionTypes":        {`{}`, "*"},
	"ListRuleTypes":          {`{}`, "*"},
	"ListRuleExecutions":     {`{"pipelineName":"p"}`, arnPrefix + "p"},
	"PollForJobs":            {`{"actionTypeId":` + customType + `}`, arnPrefix + "actiontype:Custom/Build/Tool/1"},
	"AcknowledgeJob":         {`{"jobId":"` + someUUID + `","nonce":"n"}`, "*"},
	"GetJobDetails":          {`{"jobId":"` + someUUID + `"}`, "*"},
	"PutJobSuccessResult":    {`{"jobId":"` + someUUID + `"}`, "*"},
	"PutJobFailureResult":    {`{"jobId":"` + someUUID + `","failureDetails":{"type":"JobFailed","message":"m"}}`, "*"},
	"TagResource":            {`{"resourceArn":"` + arnPrefix + `p","tags":[{"key":"k","value":"v"}]}`, arnPrefix + "p"},
	"UntagResource":          {`{"resourceArn":"` + arnPrefix + `p","tagKeys":["k"]}`, arnPrefix + "p"},
	"ListTagsForResource":    {`{"resourceArn":"` + arnPrefix + `p"}`, arnPrefix + "p"},
	"DisableStageTransition": {`{"pipelineName":"p","stageName":"S","transitionType":"Inbound","reason":"frozen"}`, arnPrefix + "p/S"},
	"EnableStageTransition":  {`{"pipelineName":"p","stageName":"S","transitionType":"Inbound"}`, arnPrefix + "p/S"},
	"RetryStageExecution":    {`{"pipelineName":"p","stageName":"S","pipelineExecutionId":"` + someUUID + `","retryMode":"FAILED_ACTIONS"}`, arnPrefix + "p"},
	"RollbackStage":          {`{"pipelineName":"p","stageName":"S","targetPipelineExecutionId":"` + someUUID + `"}`, arnPrefix + "p"},
	"OverrideStageCondition": {`{"pipelineName":"p","stageName":"S","pipelineExecutionId":"` + someUUID + `","conditionType":"BEFORE_ENTRY"}`, arnPrefix + "p"},
	"PutWebhook": {`{"webhook":{"name":"w","targetPipeline":"p","targetAction":"A","filters":[{"jsonPath":"$.ref"}],` +
		`"authentication":"UNAUTHENTICATED","authenticationConfiguration":{}}}`, arnPrefix + "webhook:w"},
	"ListWebhooks":                    {`{}`, "*"},
	"DeleteWebhook":                   {`{"name":"w"}`, arnPrefix + "webhook:w"},
	"RegisterWebhookWithThirdParty":   {`{"webhookName":"w"}`, arnPrefix + "webhook:w"},
	"DeregisterWebhookWithThirdParty": {`{"webhookName":"w"}`, arnPrefix + "webhook:w"},
}

// TestEveryCodePipelineOperationAsksAuthorization: with a deny-all hook,
// every operation of the CodePipeline door is refused with
// AccessDeniedException, after asking about its own action name and
// resource, for the caller its signature verified (the admin key).
func TestEveryCodePipelineOperationAsksAuthorization(t *testing.T) {
	hook := &denyAll{}
	srv := apitest.NewServer(t, apitest.WithAuthorizer(hook.authorize))
	ops := cpdoor.Operations()
	if len(ops) < 20 {
		t.Fatalf("the door lists only %d operations", len(ops))
	}
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			tc, ok := cpRequests[op]
			if !ok {
				t.Fatalf("no request for %s: add one to cpRequests", op)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+op)
			req.Header.Set("Content-Type", cpdoor.ContentType)
			status, body := send(t, srv.Client(), req)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			json.Unmarshal(body, &e)
			if status != http.StatusForbidden || e.Type != "AccessDeniedException" {
				t.Fatalf("%d %s, want 403 AccessDeniedException", status, body)
			}
			want := question{service.Operation("codepipeline:" + op), tc.resource, srv.Service.UserArn(service.AdminUser), service.DoorCodePipeline}
			asked := hook.take()
			if len(asked) == 0 || asked[0] != want {
				t.Fatalf("asked %+v, want first %+v", asked, want)
			}
			if !strings.Contains(e.Message, string(want.op)) || !strings.Contains(e.Message, want.resource) {
				t.Fatalf("message %q names neither the action nor the resource", e.Message)
			}
		})
	}
}

// TestEveryRESTRouteAsksAuthorization does the same for every REST route.
func TestEveryRESTRouteAsksAuthorization(t *testing.T) {
	hook := &denyAll{}
	srv := apitest.NewServer(t, apitest.WithAuthorizer(hook.authorize))
	for _, tt := range restRoutes {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, rd)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Stageflow-User", "alice") // a claim: the signature names the caller
			status, body := send(t, srv.Client(), req)
			if status != http.StatusForbidden || !strings.Contains(string(body), `"AccessDeniedException"`) {
				t.Fatalf("%d %s, want 403 AccessDeniedException", status, body)
			}
			want := question{tt.op, tt.resource, srv.Service.UserArn(service.AdminUser), service.DoorREST}
			if asked := hook.take(); len(asked) == 0 || asked[0] != want {
				t.Fatalf("asked %+v, want first %+v", asked, want)
			}
		})
	}
}

func send(t *testing.T, client *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", req.Method, req.URL, err))
	}
	return resp.StatusCode, body
}

// restExec is an execution's path under the pipeline p.
const restExec = "/v1/pipelines/p/executions/" + someUUID

// restRoute is a valid request of a REST route, with the operation and
// resource the service must ask about.
type restRoute struct {
	method, path, body string
	op                 service.Operation
	resource           string
}

// restRoutes has a request for every REST route that asks the hook
// (TestRESTRoutesAreCovered checks none is missing).
var restRoutes = []restRoute{
	{"POST", "/v1/pipelines", pipelineJS, service.OpCreatePipeline, arnPrefix + "p"},
	{"GET", "/v1/pipelines", "", service.OpListPipelines, "*"},
	{"GET", "/v1/pipelines/p", "", service.OpGetPipeline, arnPrefix + "p"},
	{"PUT", "/v1/pipelines/p", pipelineJS, service.OpUpdatePipeline, arnPrefix + "p"},
	{"DELETE", "/v1/pipelines/p", "", service.OpDeletePipeline, arnPrefix + "p"},
	{"GET", "/v1/pipelines/p/state", "", service.OpGetPipelineState, arnPrefix + "p"},
	{"POST", "/v1/pipelines/p/executions", "{}", service.OpStartPipelineExecution, arnPrefix + "p"},
	{"GET", "/v1/pipelines/p/executions", "", service.OpListPipelineExecutions, arnPrefix + "p"},
	{"GET", restExec, "", service.OpGetExecutionRecord, arnPrefix + "p"},
	{"POST", restExec + "/stop", "{}", service.OpStopPipelineExecution, arnPrefix + "p"},
	{"GET", restExec + "/events", "", service.OpWatchExecution, arnPrefix + "p"},
	{"GET", restExec + "/actions/r/logs", "", service.OpGetActionLogs, arnPrefix + "p"},
	{"GET", "/v1/pipelines/p/action-executions", "", service.OpListActionExecutions, arnPrefix + "p"},
	{"GET", "/v1/pipelines/p/rule-executions", "", service.OpListRuleExecutions, arnPrefix + "p"},
	{"GET", "/v1/rule-types", "", service.OpListRuleTypes, "*"},
	{"POST", "/v1/validate", pipelineJS, service.OpCreatePipeline, arnPrefix + "p"},
	{"GET", "/v1/action-types", "", service.OpListActionTypes, "*"},
	{"POST", "/v1/pipelines/p/approvals", `{"stage":"S","action":"A","status":"Approved"}`, service.OpPutApprovalResult, arnPrefix + "p/S/A"},
	{"POST", "/v1/pipelines/p/stages/S/disable-transition", `{"reason":"frozen"}`, service.OpDisableStageTransition, arnPrefix + "p/S"},
	{"POST", "/v1/pipelines/p/stages/S/enable-transition", "{}", service.OpEnableStageTransition, arnPrefix + "p/S"},
	{"POST", "/v1/pipelines/p/stages/S/rollback", `{"targetPipelineExecutionId":"` + someUUID + `"}`, service.OpRollbackStage, arnPrefix + "p"},
	{"POST", restExec + "/stages/S/retry", "{}", service.OpRetryStageExecution, arnPrefix + "p"},
	{"POST", restExec + "/stages/S/override-condition", `{"conditionType":"ON_SUCCESS"}`, service.OpOverrideStageCondition, arnPrefix + "p"},
	{"GET", "/v1/pipelines/p/tags", "", service.OpListTagsForResource, arnPrefix + "p"},
	{"PUT", "/v1/pipelines/p/tags", `{"tags":[{"key":"k","value":"v"}]}`, service.OpTagResource, arnPrefix + "p"},
	{"DELETE", "/v1/pipelines/p/tags?key=k", "", service.OpUntagResource, arnPrefix + "p"},
	{"POST", "/v1/keys", `{"user":"someone","policies":[{"name":"AWSCodePipeline_ReadOnlyAccess"}]}`, service.OpCreateAccessKey, "arn:aws:iam::" + apitest.Account + ":user/someone"},
	{"GET", "/v1/keys", "", service.OpListAccessKeys, "*"},
	{"DELETE", "/v1/keys/SFAKAAAAAAAAAAAAAAAA", "", service.OpDeleteAccessKey, "*"},
	{"PUT", "/v1/principal-policies", `{"principal":"arn:aws:iam::` + apitest.Account + `:role/r","policies":[]}`, service.OpPutPrincipalPolicies, "arn:aws:iam::" + apitest.Account + ":role/r"},
	{"GET", "/v1/principal-policies?principal=arn:aws:iam::" + apitest.Account + ":role/r", "", service.OpGetPrincipalPolicies, "arn:aws:iam::" + apitest.Account + ":role/r"},
	{"POST", "/v1/connections", `{"name":"c","id":"c","remote":"/srv/git/c"}`, service.OpCreateConnection, connArn},
	{"GET", "/v1/connections", "", service.OpListConnections, "*"},
	{"GET", "/v1/connections/c", "", service.OpGetConnection, connArn},
	{"DELETE", "/v1/connections/c", "", service.OpDeleteConnection, connArn},
	{"POST", "/v1/connections/c/trigger-secret", "", service.OpRotateConnectionTriggerSecret, connArn},
	{"POST", "/v1/repositories", `{"name":"r","remote":"/srv/git/r"}`, service.OpCreateRepository, repoArn},
	{"GET", "/v1/repositories", "", service.OpListRepositories, "*"},
	{"GET", "/v1/repositories/r", "", service.OpGetRepository, repoArn},
	{"DELETE", "/v1/repositories/r", "", service.OpDeleteRepository, repoArn},
	{"POST", "/v1/buckets", `{"name":"b-1","endpoint":"https://s3.example","accessKeyId":"k","secretAccessKey":"s"}`, service.OpCreateBucket, "arn:aws:s3:::b-1"},
	{"GET", "/v1/buckets", "", service.OpListBuckets, "*"},
	{"GET", "/v1/buckets/b-1", "", service.OpGetBucket, "arn:aws:s3:::b-1"},
	{"DELETE", "/v1/buckets/b-1", "", service.OpDeleteBucket, "arn:aws:s3:::b-1"},
}

// The ARNs of the connection c and the repository r.
const (
	connArn = "arn:aws:codeconnections:" + apitest.Region + ":" + apitest.Account + ":connection/c"
	repoArn = "arn:aws:codecommit:" + apitest.Region + ":" + apitest.Account + ":r"
)

// TestRESTRoutesAreCovered: every route of the REST door but whoami (which
// asks about what it is told to) and console-links (a sign-in link for the
// caller's own key, which grants nothing the key lacks: console_test.go)
// has a request in restRoutes.
func TestRESTRoutesAreCovered(t *testing.T) {
	have := map[string]bool{"GET /v1/whoami": true, "POST /v1/console-links": true}
	for _, r := range restRoutes {
		path, _, _ := strings.Cut(r.path, "?")
		have[r.method+" "+routeShape(path)] = true
	}
	for _, p := range rest.Patterns() {
		if !have[p] {
			t.Errorf("route %s has no request in restRoutes", p)
		}
	}
}

// routeShape turns a concrete path into its ServeMux pattern.
func routeShape(path string) string {
	segs := strings.Split(path, "/")
	names := map[int]string{3: "{name}", 5: "{id}", 7: "{runId}"}
	for i := range segs {
		if i > 0 && segs[i-1] == "stages" {
			segs[i] = "{stage}"
			continue
		}
		if n, ok := names[i]; ok && segs[i] != "" {
			if i == 3 && (segs[2] == "keys" || segs[2] == "connections") {
				n = "{id}"
			}
			segs[i] = n
		}
	}
	return strings.Join(segs, "/")
}
