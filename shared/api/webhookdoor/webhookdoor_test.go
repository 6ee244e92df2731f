package webhookdoor_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/webhookdoor"
)

const secret = "s3cr3t-for-tests"

func pushPayload(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "webhook.github-push.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(h func() hash.Hash, key string, body []byte) string {
	m := hmac.New(h, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

type setup struct {
	srv  *apitest.Server
	cp   *codepipeline.Client
	urls map[string]string // webhook name → URL
}

const pipelineName = "hooked"

func newSetup(t *testing.T, opts ...apitest.Option) *setup {
	t.Helper()
	srv := apitest.NewServer(t, append([]apitest.Option{apitest.WithoutFirstExecution()}, opts...)...)
	cp := codepipeline.New(codepipeline.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: srv.Credentials(), RetryMaxAttempts: 1})
	ctx := t.Context()
	commands := &types.ActionTypeId{Category: types.ActionCategoryCompute, Owner: types.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")}
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(pipelineName), RoleArn: aws.String("arn:aws:iam::000000000000:role/stageflow-test"),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Source"), Actions: []types.ActionDeclaration{{Name: aws.String("Checkout"), ActionTypeId: commands,
				Commands: []string{"true"}, Configuration: map[string]string{"BranchName": "main"}}}},
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commands, Commands: []string{"true"}}}},
		},
	}})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	s := &setup{srv: srv, cp: cp, urls: map[string]string{}}
	branch := types.WebhookFilterRule{JsonPath: aws.String("$.ref"), MatchEquals: aws.String("refs/heads/{BranchName}")}
	repo := types.WebhookFilterRule{JsonPath: aws.String("$.repository.full_name"), MatchEquals: aws.String("octo-org/hello-stageflow")}
	hooks := []types.WebhookDefinition{
		{Name: aws.String("hmac"), Authentication: types.WebhookAuthenticationTypeGithubHmac,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{SecretToken: aws.String(secret)}, Filters: []types.WebhookFilterRule{branch, repo}},
		{Name: aws.String("ip-allow"), Authentication: types.WebhookAuthenticationTypeIp,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{AllowedIPRange: aws.String("127.0.0.0/8")}, Filters: []types.WebhookFilterRule{branch}},
		{Name: aws.String("ip-deny"), Authentication: types.WebhookAuthenticationTypeIp,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{AllowedIPRange: aws.String("192.0.2.0/24")}, Filters: []types.WebhookFilterRule{branch}},
		{Name: aws.String("open"), Authentication: types.WebhookAuthenticationTypeUnauthenticated,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{}, Filters: []types.WebhookFilterRule{{JsonPath: aws.String("$.head_commit.id")}}},
	}
	for _, h := range hooks {
		h.TargetPipeline, h.TargetAction = aws.String(pipelineName), aws.String("Checkout")
		out, err := cp.PutWebhook(ctx, &codepipeline.PutWebhookInput{Webhook: &h, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
		if err != nil {
			t.Fatalf("PutWebhook %s: %v", *h.Name, err)
		}
		url := aws.ToString(out.Webhook.Url)
		if !strings.HasPrefix(url, srv.URL+"/webhooks/v1/") {
			t.Fatalf("webhook %s has URL %q, want one under %s/webhooks/v1/", *h.Name, url, srv.URL)
		}
		if got, want := aws.ToString(out.Webhook.Arn), "arn:aws:codepipeline:"+srv.Service.Region()+":"+apitest.Account+":webhook:"+*h.Name; got != want {
			t.Errorf("ARN %q, want %q", got, want)
		}
		if tok := aws.ToString(out.Webhook.Definition.AuthenticationConfiguration.SecretToken); tok != "" && tok != "****" {
			t.Errorf("PutWebhook answers the secret token %q", tok)
		}
		s.urls[*h.Name] = url
	}
	return s
}

func (s *setup) executions(t *testing.T) int {
	t.Helper()
	out, err := s.cp.ListPipelineExecutions(t.Context(), &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(pipelineName)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range out.PipelineExecutionSummaries {
		if e.Trigger == nil || e.Trigger.TriggerType != types.TriggerTypeWebhook || !strings.Contains(aws.ToString(e.Trigger.TriggerDetail), ":webhook:") {
			t.Errorf("execution %s has trigger %+v, want Webhook with the webhook's ARN", aws.ToString(e.PipelineExecutionId), e.Trigger)
		}
	}
	return len(out.PipelineExecutionSummaries)
}

func post(t *testing.T, url string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDeliveries(t *testing.T) {
	s := newSetup(t)
	push := pushPayload(t)
	feature := bytes.Replace(push, []byte(`"refs/heads/main"`), []byte(`"refs/heads/feature"`), 1)
	huge := append(append([]byte(`{"ref":"`), bytes.Repeat([]byte("x"), webhookdoor.MaxBodyBytes)...), []byte(`"}`)...)
	tests := []struct {
		name, hook string
		url        string // instead of the hook's URL
		body       []byte
		headers    map[string]string
		wantStatus int
		started    bool
		wantIn     string
	}{
		{name: "sha256 signature", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, push)}, wantStatus: 200, started: true},
		{name: "legacy sha1 signature", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature": "sha1=" + sign(sha1.New, secret, push)}, wantStatus: 200, started: true},
		{name: "wrong secret", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, "other", push)}, wantStatus: 403, wantIn: "does not match"},
		{name: "signature of another body", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, feature)}, wantStatus: 403},
		{name: "wrong sha1", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature": "sha1=" + sign(sha1.New, "other", push)}, wantStatus: 403},
		{name: "sha256 wins over a good sha1", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature-256": "sha256=00", "X-Hub-Signature": "sha1=" + sign(sha1.New, secret, push)}, wantStatus: 403},
		{name: "malformed signature", hook: "hmac", body: push, headers: map[string]string{"X-Hub-Signature-256": "md5=zz"}, wantStatus: 403, wantIn: "sha256=<hex>"},
		{name: "no signature", hook: "hmac", body: push, wantStatus: 401, wantIn: "X-Hub-Signature-256"},
		{name: "signed, filter does not match", hook: "hmac", body: feature, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, feature)}, wantStatus: 200, wantIn: `filter 1 (jsonPath "$.ref") did not match: the payload has "refs/heads/feature" where "refs/heads/main" was wanted`},
		{name: "signed, not JSON", hook: "hmac", body: []byte("ref=main"), headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, []byte("ref=main"))}, wantStatus: 400, wantIn: "not JSON"},
		{name: "IP allowed", hook: "ip-allow", body: push, wantStatus: 200, started: true},
		{name: "IP allowed, another branch", hook: "ip-allow", body: feature, wantStatus: 200, wantIn: "did not match"},
		{name: "IP denied", hook: "ip-deny", body: push, wantStatus: 403, wantIn: "192.0.2.0/24"},
		{name: "IP denied, a forwarded header is not trusted", hook: "ip-deny", body: push, headers: map[string]string{"X-Forwarded-For": "192.0.2.7"}, wantStatus: 403},
		{name: "unauthenticated, path present", hook: "open", body: push, wantStatus: 200, started: true},
		{name: "unauthenticated, path absent", hook: "open", body: []byte(`{"zen":"Keep it simple."}`), wantStatus: 200, wantIn: "selects nothing"},
		{name: "unauthenticated, malformed JSON", hook: "open", body: []byte(`{"ref":`), wantStatus: 400},
		{name: "unauthenticated, two JSON values", hook: "open", body: []byte(`{} {}`), wantStatus: 400},
		{name: "too large", hook: "open", body: huge, wantStatus: 413},
		{name: "unknown webhook", url: s.srv.URL + "/webhooks/v1/0123456789abcdef", body: push, wantStatus: 404},
		{name: "no ID", url: s.srv.URL + "/webhooks/v1/", body: push, wantStatus: 404},
	}
	count := s.executions(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if url == "" {
				url = s.urls[tc.hook]
			}
			status, body := post(t, url, tc.body, tc.headers)
			var out struct {
				PipelineExecutionID string `json:"pipelineExecutionId"`
				Message             string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil || out.Message == "" {
				t.Errorf("the answer %q is not JSON with a message", body)
			}
			if status != tc.wantStatus || !strings.Contains(out.Message, tc.wantIn) {
				t.Errorf("got %d %s, want %d with %q", status, body, tc.wantStatus, tc.wantIn)
			}
			if tc.started != (out.PipelineExecutionID != "") {
				t.Errorf("started %q, want started=%v", out.PipelineExecutionID, tc.started)
			}
			now := s.executions(t)
			want := count
			if tc.started {
				want++
			}
			if now != want {
				t.Errorf("%d executions after the delivery, want %d", now, want)
			}
			count = now
		})
	}
	// Webhooks that started an execution show when; the others do not.
	list, err := s.cp.ListWebhooks(t.Context(), &codepipeline.ListWebhooksInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range list.Webhooks {
		name, triggered := aws.ToString(w.Definition.Name), w.LastTriggered != nil
		if want := name != "ip-deny"; triggered != want {
			t.Errorf("webhook %s: lastTriggered %v, want set=%v", name, w.LastTriggered, want)
		}
	}
}

func apiError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestPutWebhookRefuses(t *testing.T) {
	s := newSetup(t)
	ok := types.WebhookFilterRule{JsonPath: aws.String("$.ref"), MatchEquals: aws.String("refs/heads/{BranchName}")}
	def := func(change func(d *types.WebhookDefinition)) *types.WebhookDefinition {
		d := &types.WebhookDefinition{Name: aws.String("bad"), TargetPipeline: aws.String(pipelineName), TargetAction: aws.String("Checkout"),
			Filters: []types.WebhookFilterRule{ok}, Authentication: types.WebhookAuthenticationTypeUnauthenticated,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{}}
		change(d)
		return d
	}
	tests := []struct {
		name   string
		d      *types.WebhookDefinition
		want   string
		wantIn string
	}{
		{"unknown pipeline", def(func(d *types.WebhookDefinition) { d.TargetPipeline = aws.String("nope") }), "PipelineNotFoundException", "nope"},
		{"action of a later stage", def(func(d *types.WebhookDefinition) { d.TargetAction = aws.String("Make") }), "ValidationException", "first (source) stage"},
		{"no filters", def(func(d *types.WebhookDefinition) { d.Filters = []types.WebhookFilterRule{} }), "InvalidWebhookFilterPatternException", "1 to 5"},
		{"six filters", def(func(d *types.WebhookDefinition) { d.Filters = []types.WebhookFilterRule{ok, ok, ok, ok, ok, ok} }), "ValidationException", "filters"},
		{"bad JSONPath", def(func(d *types.WebhookDefinition) { d.Filters[0].JsonPath = aws.String("$[?(") }), "InvalidWebhookFilterPatternException", "$[?("},
		{"HMAC without a secret", def(func(d *types.WebhookDefinition) { d.Authentication = types.WebhookAuthenticationTypeGithubHmac }), "InvalidWebhookAuthenticationParametersException", "SecretToken"},
		{"IP without a range", def(func(d *types.WebhookDefinition) { d.Authentication = types.WebhookAuthenticationTypeIp }), "InvalidWebhookAuthenticationParametersException", "AllowedIPRange"},
		{"IP with a bad range", def(func(d *types.WebhookDefinition) {
			d.Authentication = types.WebhookAuthenticationTypeIp
			d.AuthenticationConfiguration.AllowedIPRange = aws.String("10.0.0.300/8")
		}), "InvalidWebhookAuthenticationParametersException", "CIDR"},
		{"unauthenticated with a secret", def(func(d *types.WebhookDefinition) { d.AuthenticationConfiguration.SecretToken = aws.String("x") }), "InvalidWebhookAuthenticationParametersException", "UNAUTHENTICATED"},
		{"bad name", def(func(d *types.WebhookDefinition) { d.Name = aws.String("a/b") }), "ValidationException", "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.cp.PutWebhook(t.Context(), &codepipeline.PutWebhookInput{Webhook: tc.d})
			if apiError(err) != tc.want || err == nil || !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("got %v, want %s naming %q", err, tc.want, tc.wantIn)
			}
		})
	}
	list, err := s.cp.ListWebhooks(t.Context(), &codepipeline.ListWebhooksInput{})
	if err != nil || len(list.Webhooks) != 4 {
		t.Fatalf("ListWebhooks after refusals: %d webhooks, %v; want the 4 of the setup", len(list.Webhooks), err)
	}
}

func TestListDeleteRegister(t *testing.T) {
	s := newSetup(t)
	ctx := t.Context()
	var names []string
	var token *string
	for {
		out, err := s.cp.ListWebhooks(ctx, &codepipeline.ListWebhooksInput{MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range out.Webhooks {
			names = append(names, aws.ToString(w.Definition.Name))
			tok := aws.ToString(w.Definition.AuthenticationConfiguration.SecretToken)
			if aws.ToString(w.Definition.Name) == "hmac" && tok != "****" {
				t.Errorf("ListWebhooks shows the secret token as %q, want it redacted", tok)
			}
			if len(w.Tags) != 1 || aws.ToString(w.Tags[0].Key) != "team" {
				t.Errorf("webhook %s has tags %+v", aws.ToString(w.Definition.Name), w.Tags)
			}
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if strings.Join(names, ",") != "hmac,ip-allow,ip-deny,open" {
		t.Errorf("listed %v", names)
	}
	if _, err := s.cp.RegisterWebhookWithThirdParty(ctx, &codepipeline.RegisterWebhookWithThirdPartyInput{WebhookName: aws.String("hmac")}); err != nil {
		t.Errorf("RegisterWebhookWithThirdParty: %v", err)
	}
	if _, err := s.cp.DeregisterWebhookWithThirdParty(ctx, &codepipeline.DeregisterWebhookWithThirdPartyInput{WebhookName: aws.String("hmac")}); err != nil {
		t.Errorf("DeregisterWebhookWithThirdParty: %v", err)
	}
	_, err := s.cp.RegisterWebhookWithThirdParty(ctx, &codepipeline.RegisterWebhookWithThirdPartyInput{WebhookName: aws.String("nope")})
	if apiError(err) != "WebhookNotFoundException" {
		t.Errorf("RegisterWebhookWithThirdParty of an unknown webhook: %v", err)
	}
	// Replacing a webhook gives it a new URL; the old one is gone.
	old := s.urls["open"]
	out, err := s.cp.PutWebhook(ctx, &codepipeline.PutWebhookInput{Webhook: &types.WebhookDefinition{Name: aws.String("open"),
		TargetPipeline: aws.String(pipelineName), TargetAction: aws.String("Checkout"), Authentication: types.WebhookAuthenticationTypeUnauthenticated,
		AuthenticationConfiguration: &types.WebhookAuthConfiguration{}, Filters: []types.WebhookFilterRule{{JsonPath: aws.String("$.ref")}}}})
	if err != nil || aws.ToString(out.Webhook.Url) == old {
		t.Fatalf("replacing: %v (URL %q, old %q)", err, aws.ToString(out.Webhook.Url), old)
	}
	if status, body := post(t, old, []byte(`{"ref":"x"}`), nil); status != 404 {
		t.Errorf("the replaced URL answers %d %s", status, body)
	}
	if _, err := s.cp.DeleteWebhook(ctx, &codepipeline.DeleteWebhookInput{Name: aws.String("open")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cp.DeleteWebhook(ctx, &codepipeline.DeleteWebhookInput{Name: aws.String("open")}); err != nil {
		t.Errorf("deleting a deleted webhook: %v (CodePipeline answers success)", err)
	}
	if status, body := post(t, aws.ToString(out.Webhook.Url), []byte(`{"ref":"x"}`), nil); status != 404 {
		t.Errorf("a deleted webhook's URL answers %d %s", status, body)
	}
	if n := s.executions(t); n != 0 {
		t.Errorf("%d executions, want none", n)
	}
}

// Past the limit of failed authentications, a client's requests to the
// webhook are refused unchecked (a good signature too), and start nothing;
// other webhooks still answer it.
func TestFailedAuthenticationsThrottle(t *testing.T) {
	s := newSetup(t, apitest.WithFailureLimit(2))
	push := pushPayload(t)
	bad := map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, "guess", push)}
	good := map[string]string{"X-Hub-Signature-256": "sha256=" + sign(sha256.New, secret, push)}
	steps := []struct {
		hook    string
		headers map[string]string
		want    int
	}{
		{"hmac", bad, 403}, {"hmac", nil, 401}, {"hmac", good, 429}, {"hmac", bad, 429}, {"open", nil, 200},
	}
	for i, st := range steps {
		if status, body := post(t, s.urls[st.hook], push, st.headers); status != st.want {
			t.Errorf("step %d (%s): %d %s, want %d", i, st.hook, status, body, st.want)
		}
	}
	if n := s.executions(t); n != 1 {
		t.Errorf("%d executions, want the open webhook's one", n)
	}
}
