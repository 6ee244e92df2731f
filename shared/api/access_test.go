package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// denyProd is FullAccess's codepipeline statement with a Deny on the
// pipeline prod, its stages and actions.
const denyProd = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
    {"Sid": "NotProd", "Effect": "Deny", "Action": "codepipeline:*",
     "Resource": ["` + arnPrefix + `prod", "` + arnPrefix + `prod/*"]}
  ]
}`

// The users of the keys under test, each with its policies.
var accessUsers = []struct {
	user     string
	policies []store.AttachedPolicy
}{
	{"full", []store.AttachedPolicy{{Name: auth.FullAccess}}},
	{"read", []store.AttachedPolicy{{Name: auth.ReadOnlyAccess}}},
	{"approver", []store.AttachedPolicy{{Name: auth.ApproverAccess}}},
	{"worker", []store.AttachedPolicy{{Name: auth.CustomActionAccess}}},
	{"denyprod", []store.AttachedPolicy{{Name: "DenyProd", Document: denyProd}}},
	{"nopolicy", nil},
}

// mayDo is, per operation, the users whose policies allow it, read off the
// policy documents (auth/builtin.go and denyProd) by hand: FullAccess allows
// codepipeline:* and the stageflow: reads; ReadOnly AWS's Get/List reads
// and the stageflow: reads; Approver its reads, PutApprovalResult and the
// stageflow: reads; CustomAction the five job calls; DenyProd codepipeline:*
// but nothing on prod; no policy nothing. No one but the admin may manage
// keys, principals' policies, connections, repositories or buckets.
var mayDo = map[service.Operation][]string{
	service.OpCreatePipeline:                  {"full", "denyprod"},
	service.OpGetPipeline:                     {"full", "denyprod", "read", "approver"},
	service.OpUpdatePipeline:                  {"full", "denyprod"},
	service.OpDeletePipeline:                  {"full", "denyprod"},
	service.OpListPipelines:                   {"full", "denyprod", "read", "approver"},
	service.OpGetPipelineState:                {"full", "denyprod", "read", "approver"},
	service.OpStartPipelineExecution:          {"full", "denyprod"},
	service.OpStopPipelineExecution:           {"full", "denyprod"},
	service.OpGetPipelineExecution:            {"full", "denyprod", "read", "approver"},
	service.OpListPipelineExecutions:          {"full", "denyprod", "read", "approver"},
	service.OpListActionExecutions:            {"full", "denyprod", "read"},
	service.OpPutApprovalResult:               {"full", "denyprod", "approver"},
	service.OpCreateCustomActionType:          {"full", "denyprod"},
	service.OpDeleteCustomActionType:          {"full", "denyprod"},
	service.OpListActionTypes:                 {"full", "denyprod", "read"},
	service.OpListRuleTypes:                   {"full", "denyprod"},
	service.OpListRuleExecutions:              {"full", "denyprod"},
	service.OpPollForJobs:                     {"full", "denyprod", "worker"},
	service.OpAcknowledgeJob:                  {"full", "denyprod", "worker"},
	service.OpGetJobDetails:                   {"full", "denyprod", "worker"},
	service.OpPutJobSuccessResult:             {"full", "denyprod", "worker"},
	service.OpPutJobFailureResult:             {"full", "denyprod", "worker"},
	service.OpTagResource:                     {"full", "denyprod"},
	service.OpUntagResource:                   {"full", "denyprod"},
	service.OpListTagsForResource:             {"full", "denyprod", "read"},
	service.OpDisableStageTransition:          {"full", "denyprod"},
	service.OpEnableStageTransition:           {"full", "denyprod"},
	service.OpRetryStageExecution:             {"full", "denyprod"},
	service.OpRollbackStage:                   {"full", "denyprod"},
	service.OpOverrideStageCondition:          {"full", "denyprod"},
	service.OpPutWebhook:                      {"full", "denyprod"},
	service.OpListWebhooks:                    {"full", "denyprod"},
	service.OpDeleteWebhook:                   {"full", "denyprod"},
	service.OpRegisterWebhookWithThirdParty:   {"full", "denyprod"},
	service.OpDeregisterWebhookWithThirdParty: {"full", "denyprod"},
	service.OpGetExecutionRecord:              {"full", "read", "approver"},
	service.OpWatchExecution:                  {"full", "read", "approver"},
	service.OpGetActionLogs:                   {"full", "read", "approver"},
	service.OpCreateAccessKey:                 {},
	service.OpListAccessKeys:                  {},
	service.OpDeleteAccessKey:                 {},
	service.OpPutPrincipalPolicies:            {},
	service.OpGetPrincipalPolicies:            {},
	// Connections hold credentials: they go with the keys.
	service.OpCreateConnection:              {},
	service.OpGetConnection:                 {},
	service.OpListConnections:               {},
	service.OpDeleteConnection:              {},
	service.OpRotateConnectionTriggerSecret: {},
	service.OpCreateRepository:              {},
	service.OpGetRepository:                 {},
	service.OpListRepositories:              {},
	service.OpDeleteRepository:              {},
	// Buckets hold an endpoint's secret access key: likewise.
	service.OpCreateBucket: {},
	service.OpGetBucket:    {},
	service.OpListBuckets:  {},
	service.OpDeleteBucket: {},
}

// accessRequest is one request of either door, on the pipeline p.
type accessRequest struct {
	door, name   string
	method, path string
	body         string
	header       map[string]string
	op           service.Operation
	resource     string
	perPipeline  bool // the resource is the pipeline p's (or under it)
	errorOf      func(status int, body []byte) string
}

// accessRequests is every operation of the CodePipeline door (cpRequests)
// and every REST route (restRoutes).
func accessRequests(t *testing.T) []accessRequest {
	var out []accessRequest
	for _, op := range cpdoor.Operations() {
		tc, ok := cpRequests[op]
		if !ok {
			t.Fatalf("no request for %s in cpRequests", op)
		}
		out = append(out, accessRequest{
			door: "codepipeline", name: op, method: http.MethodPost, path: "/", body: tc.body,
			header:   map[string]string{"X-Amz-Target": cpdoor.TargetPrefix + op, "Content-Type": cpdoor.ContentType},
			op:       service.Operation("codepipeline:" + op),
			resource: tc.resource, perPipeline: strings.HasPrefix(tc.resource, arnPrefix+"p"),
			errorOf: cpErrorType,
		})
	}
	for _, r := range restRoutes {
		out = append(out, accessRequest{
			door: "rest", name: r.method + " " + r.path, method: r.method, path: r.path, body: r.body,
			header: map[string]string{"Content-Type": "application/json"}, op: r.op,
			resource: r.resource, perPipeline: strings.HasPrefix(r.resource, arnPrefix+"p"),
			errorOf: restErrorCode,
		})
	}
	return out
}

func cpErrorType(_ int, body []byte) string {
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(body, &e)
	return e.Type
}

func restErrorCode(_ int, body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// onProd is a request's copy on the pipeline prod.
func onProd(s string) string {
	for _, r := range [][2]string{{`"name":"p"`, `"name":"prod"`}, {`"pipelineName":"p"`, `"pipelineName":"prod"`},
		{arnPrefix + `p"`, arnPrefix + `prod"`}, {"/v1/pipelines/p", "/v1/pipelines/prod"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// tamperer signs a request, then changes it: one more byte of body, or,
// without a body, one more query parameter.
type tamperer struct{ creds aws.Credentials }

func (tp tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	signed, err := awssign.Sign(req.Context(), req, credentials.StaticCredentialsProvider{Value: tp.creds}, apitest.Region, awssign.ServiceOf(req), time.Now())
	if err != nil {
		return nil, err
	}
	if signed.Body != nil && signed.ContentLength > 0 {
		data, _ := io.ReadAll(signed.Body)
		data = append(data, ' ')
		signed.Body, signed.ContentLength = io.NopCloser(strings.NewReader(string(data))), int64(len(data))
	} else {
		q := signed.URL.Query()
		q.Set("tampered", "1")
		signed.URL.RawQuery = q.Encode()
	}
	return http.DefaultTransport.RoundTrip(signed)
}

// TestAccessControl tries every operation of both doors against a running
// server: unsigned, with a wrong secret, with a signature 20 minutes old and
// with a tampered request (each refused before any policy is asked about,
// with AWS's exception), then under each built-in policy, a custom policy
// with a Deny on one pipeline and no policy, on two pipelines; each is
// allowed, or refused with AccessDeniedException in IAM's words, as mayDo
// (the evaluation rules applied by hand) says.
func TestAccessControl(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithFailureLimit(1<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	local := service.LocalCaller(ctx, "test")
	seed := func(t *testing.T) {
		t.Helper()
		for _, n := range []string{"p", "prod"} {
			p, err := pipeline.Load([]byte(strings.Replace(pipelineJS, `"name":"p"`, `"name":"`+n+`"`, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Service.CreatePipeline(local, p.Pipeline, nil); err != nil && !strings.Contains(err.Error(), "already") {
				t.Fatalf("seeding %s: %v", n, err)
			}
		}
	}
	keys := map[string]aws.Credentials{}
	for _, u := range accessUsers {
		keys[u.user] = srv.NewKey(u.user, u.policies...)
	}
	do := func(t *testing.T, client *http.Client, r accessRequest, prod bool) (int, []byte) {
		t.Helper()
		path, body := r.path, r.body
		if prod {
			path, body = onProd(path), onProd(body)
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(ctx, r.method, srv.URL+path, rd)
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	requests := accessRequests(t)
	if len(requests) < 45 {
		t.Fatalf("only %d requests", len(requests))
	}

	full := keys["full"]
	attacks := []struct {
		name      string
		client    *http.Client
		exception string
	}{
		{"anonymous", &http.Client{}, "MissingAuthenticationTokenException"},
		{"wrong secret", srv.ClientOf(aws.Credentials{AccessKeyID: full.AccessKeyID, SecretAccessKey: "wrong" + full.SecretAccessKey}), "InvalidSignatureException"},
		{"unknown key", srv.ClientOf(aws.Credentials{AccessKeyID: "SFAKAAAAAAAAAAAAAAAA", SecretAccessKey: full.SecretAccessKey}), "UnrecognizedClientException"},
		{"signed 20 minutes ago", &http.Client{Transport: &awssign.Transport{Credentials: credentials.StaticCredentialsProvider{Value: full}, Region: apitest.Region,
			Now: func() time.Time { return time.Now().Add(-20 * time.Minute) }}}, "InvalidSignatureException"},
		{"tampered", &http.Client{Transport: tamperer{full}}, "InvalidSignatureException"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			for _, r := range requests {
				status, body := do(t, a.client, r, false)
				if got := r.errorOf(status, body); status != http.StatusForbidden || got != a.exception {
					t.Errorf("%s %s: %d %s, want 403 %s", r.door, r.name, status, body, a.exception)
				}
			}
		})
	}

	for _, u := range accessUsers {
		t.Run(u.user, func(t *testing.T) {
			client := srv.ClientOf(keys[u.user])
			principal := "arn:aws:iam::" + apitest.Account + ":user/" + u.user
			for _, r := range requests {
				for _, prod := range []bool{false, true} {
					seed(t)
					want, ok := mayDo[r.op]
					if !ok {
						t.Fatalf("%s: mayDo has no row for %s", r.name, r.op)
					}
					allowed := slices.Contains(want, u.user) && !(u.user == "denyprod" && prod && r.perPipeline)
					status, body := do(t, client, r, prod)
					code := r.errorOf(status, body)
					denied := status == http.StatusForbidden && code == "AccessDeniedException"
					if denied == allowed || (allowed && status == http.StatusForbidden) {
						t.Errorf("%s %s (prod %v) as %s: %d %s; want allowed=%v", r.door, r.name, prod, u.user, status, body, allowed)
						continue
					}
					if !denied {
						continue
					}
					resource := r.resource
					if prod && r.perPipeline {
						resource = strings.Replace(resource, arnPrefix+"p", arnPrefix+"prod", 1)
					}
					msg := string(body)
					if wantMsg := "User: " + principal + " is not authorized to perform: " + string(r.op) + " on resource: " + resource; !strings.Contains(msg, wantMsg) {
						t.Errorf("%s %s as %s: denial %s does not say %q", r.door, r.name, u.user, msg, wantMsg)
					}
					explicit := u.user == "denyprod" && prod && r.perPipeline && strings.HasPrefix(string(r.op), "codepipeline:")
					if strings.Contains(msg, "explicit deny") != explicit {
						t.Errorf("%s %s as %s: denial %s, want explicit=%v", r.door, r.name, u.user, msg, explicit)
					}
				}
			}
		})
	}
}
