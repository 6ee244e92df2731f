package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/service"
)

const (
	secretOne = "tok-1-SECRET-5f3a9c"
	secretTwo = "tok-2-SECRET-81b2e4"
)

var secretType = &cptypes.ActionTypeId{
	Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerCustom,
	Provider: aws.String("SecretWorker"), Version: aws.String("1"),
}

func cpClient(srv *apitest.Server) *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: srv.Credentials(),
	})
}

// secretPipeline is a Commands stage, then a SecretWorker action whose
// Token is token.
func secretPipeline(name, token string) *cptypes.PipelineDeclaration {
	return &cptypes.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String("arn:aws:iam::000000000000:role/secret"),
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Make"), Actions: []cptypes.ActionDeclaration{{
				Name:         aws.String("Make"),
				ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategoryCompute, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")},
				Commands:     []string{"echo made"},
			}}},
			{Name: aws.String("Work"), Actions: []cptypes.ActionDeclaration{{
				Name: aws.String("Work"), ActionTypeId: secretType,
				Configuration: map[string]string{"Token": token, "Env": "prod"},
			}}},
		},
	}
}

func createSecretType(t *testing.T, ctx context.Context, cp *codepipeline.Client) {
	t.Helper()
	_, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: secretType.Category, Provider: secretType.Provider, Version: secretType.Version,
		InputArtifactDetails:  &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
		OutputArtifactDetails: &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
		ConfigurationProperties: []cptypes.ActionConfigurationProperty{
			{Name: aws.String("Token"), Required: true, Key: false, Secret: true},
			{Name: aws.String("Env"), Required: true, Key: true, Secret: false},
		},
	})
	if err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
}

// workConfig is the configuration of the Work action of a declaration.
func workConfig(t *testing.T, p *cptypes.PipelineDeclaration) map[string]string {
	t.Helper()
	if p == nil || len(p.Stages) != 2 || len(p.Stages[1].Actions) != 1 {
		t.Fatalf("declaration %+v", p)
	}
	return p.Stages[1].Actions[0].Configuration
}

// pollSecretJob waits for a SecretWorker job and acknowledges it.
func pollSecretJob(t *testing.T, ctx context.Context, cp *codepipeline.Client) cptypes.Job {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no SecretWorker job within 30s")
		}
		out, err := cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: secretType, MaxBatchSize: aws.Int32(1)})
		if err != nil {
			t.Fatalf("PollForJobs: %v", err)
		}
		if len(out.Jobs) == 1 {
			j := out.Jobs[0]
			if _, err := cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: j.Id, Nonce: j.Nonce}); err != nil {
				t.Fatalf("AcknowledgeJob: %v", err)
			}
			return j
		}
	}
}

func restGet(t *testing.T, ctx context.Context, srv *apitest.Server, path string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func restPut(t *testing.T, ctx context.Context, srv *apitest.Server, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// noSecret fails when out shows a secret value, or does not show the mask.
func noSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{secretOne, secretTwo} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows the secret %q: %s", what, s, out)
		}
	}
	if !strings.Contains(out, `"Token":"`+service.SecretMask+`"`) {
		t.Errorf("%s does not show the mask: %s", what, out)
	}
}

// TestSecretConfigurationMasked checks, through the AWS SDK and the REST
// door, that a configuration property declared secret shows as the mask in
// every output of the declaration (pipeline, execution record, event
// stream, action executions), that the mask sent back keeps the value,
// and that the job worker still receives the value.
func TestSecretConfigurationMasked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := cpClient(srv)
	createSecretType(t, ctx, cp)

	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: secretPipeline("secretive", secretOne)})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	if c := workConfig(t, created.Pipeline); c["Token"] != service.SecretMask || c["Env"] != "prod" {
		t.Errorf("CreatePipeline output configuration %v", c)
	}
	got, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("secretive")})
	if err != nil {
		t.Fatalf("GetPipeline: %v", err)
	}
	if c := workConfig(t, got.Pipeline); c["Token"] != service.SecretMask || c["Env"] != "prod" {
		t.Errorf("GetPipeline configuration %v", c)
	}

	// The masked declaration sent back, with another change, keeps the value.
	back := got.Pipeline
	back.Version = nil
	back.Stages[1].Actions[0].Configuration = map[string]string{"Token": service.SecretMask, "Env": "staging"}
	updated, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: back})
	if err != nil {
		t.Fatalf("UpdatePipeline with the mask: %v", err)
	}
	if c := workConfig(t, updated.Pipeline); c["Token"] != service.SecretMask || c["Env"] != "staging" {
		t.Errorf("UpdatePipeline output configuration %v", c)
	}

	// A mask with no previous value to keep is refused.
	for name, call := range map[string]func() error{
		"CreatePipeline": func() error {
			_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: secretPipeline("masked", service.SecretMask)})
			return err
		},
		"UpdatePipeline renaming the action": func() error {
			p := secretPipeline("secretive", "*****")
			p.Stages[1].Actions[0].Name = aws.String("Renamed")
			_, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: p})
			return err
		},
	} {
		var ve *cptypes.InvalidStructureException
		if err := call(); !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "configuration.Token") {
			t.Errorf("%s with a mask and no previous value: %v, want InvalidStructureException naming configuration.Token", name, err)
		}
	}

	start, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("secretive")})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	id := aws.ToString(start.PipelineExecutionId)
	job := pollSecretJob(t, ctx, cp)
	if c := job.Data.ActionConfiguration.Configuration; c["Token"] != secretOne || c["Env"] != "staging" {
		t.Errorf("PollForJobs configuration %v, want the secret value", c)
	}
	details, err := cp.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: job.Id})
	if err != nil {
		t.Fatalf("GetJobDetails: %v", err)
	}
	if c := details.JobDetails.Data.ActionConfiguration.Configuration; c["Token"] != secretOne {
		t.Errorf("GetJobDetails configuration %v, want the secret value", c)
	}

	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String("secretive")})
	if err != nil {
		t.Fatalf("ListActionExecutions: %v", err)
	}
	seen := false
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.ActionName) != "Work" {
			continue
		}
		seen = true
		if a.Input.Configuration["Token"] != service.SecretMask || a.Input.ResolvedConfiguration["Token"] != service.SecretMask {
			t.Errorf("ListActionExecutions input %v / resolved %v", a.Input.Configuration, a.Input.ResolvedConfiguration)
		}
	}
	if !seen {
		t.Error("ListActionExecutions shows no Work action")
	}

	// REST: the same service functions, the execution record and its stream.
	noSecret(t, "REST GET pipeline", restGet(t, ctx, srv, "/v1/pipelines/secretive"))
	noSecret(t, "REST GET execution", restGet(t, ctx, srv, "/v1/pipelines/secretive/executions/"+id))
	noSecret(t, "REST action executions", restGet(t, ctx, srv, "/v1/pipelines/secretive/action-executions"))
	events := streamEvents(t, ctx, srv, "/v1/pipelines/secretive/executions/"+id+"/events", func() {
		if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id}); err != nil {
			t.Errorf("PutJobSuccessResult: %v", err)
		}
	})
	if len(events) < 2 {
		t.Fatalf("event stream gave %d events, want the first state and its changes", len(events))
	}
	for _, e := range events {
		noSecret(t, "REST event stream", e)
	}

	// REST PUT of the masked declaration keeps the value; a new value replaces it.
	doc := restGet(t, ctx, srv, "/v1/pipelines/secretive")
	doc = strings.Replace(doc, `"staging"`, `"qa"`, 1)
	if code, body := restPut(t, ctx, srv, "/v1/pipelines/secretive", restDeclaration(t, doc)); code != http.StatusOK {
		t.Fatalf("REST PUT with the mask: %d %s", code, body)
	} else {
		noSecret(t, "REST PUT output", body)
	}
	for _, want := range []string{secretOne, secretTwo} {
		if want == secretTwo {
			p := secretPipeline("secretive", secretTwo)
			if _, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: p}); err != nil {
				t.Fatalf("UpdatePipeline with a new value: %v", err)
			}
		}
		if _, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("secretive")}); err != nil {
			t.Fatalf("StartPipelineExecution: %v", err)
		}
		j := pollSecretJob(t, ctx, cp)
		if got := j.Data.ActionConfiguration.Configuration["Token"]; got != want {
			t.Errorf("job configuration Token %q, want %q", got, want)
		}
		if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: j.Id}); err != nil {
			t.Fatalf("PutJobSuccessResult: %v", err)
		}
	}
}

// restDeclaration turns a GET pipeline answer ({"pipeline": …, "metadata":
// …}) into an update body: the pipeline without its version.
func restDeclaration(t *testing.T, get string) string {
	t.Helper()
	var doc struct {
		Pipeline map[string]any `json:"pipeline"`
	}
	if err := json.Unmarshal([]byte(get), &doc); err != nil {
		t.Fatalf("GET pipeline answer %s: %v", get, err)
	}
	delete(doc.Pipeline, "version")
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// streamEvents reads an execution's event stream to its end, calling then
// once the first event has come; it returns each event's data.
func streamEvents(t *testing.T, ctx context.Context, srv *apitest.Server, path string, then func()) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		out = append(out, data)
		if len(out) == 1 {
			then()
		}
	}
	return out
}

// TestQueryableSecretRefused: CodePipeline documents that a queryable
// property must be required and not secret, and that there is at most one.
func TestQueryableSecretRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := cpClient(srv)
	prop := func(name string, required, secret, queryable bool) cptypes.ActionConfigurationProperty {
		return cptypes.ActionConfigurationProperty{Name: aws.String(name), Required: required, Secret: secret, Queryable: queryable}
	}
	tests := []struct {
		name  string
		props []cptypes.ActionConfigurationProperty
		want  string // "" when accepted
	}{
		{"queryable, required, not secret", []cptypes.ActionConfigurationProperty{prop("Q", true, false, true), prop("S", true, true, false)}, ""},
		{"queryable and secret", []cptypes.ActionConfigurationProperty{prop("Q", true, true, true)}, "configurationProperties[0]"},
		{"queryable, not required", []cptypes.ActionConfigurationProperty{prop("Q", false, false, true)}, "configurationProperties[0]"},
		{"two queryable", []cptypes.ActionConfigurationProperty{prop("Q", true, false, true), prop("R", true, false, true)}, "configurationProperties[1].queryable"},
	}
	for i, tt := range tests {
		_, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
			Category: cptypes.ActionCategoryDeploy, Provider: aws.String(fmt.Sprintf("Q%d", i)), Version: aws.String("1"),
			InputArtifactDetails:    &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
			OutputArtifactDetails:   &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
			ConfigurationProperties: tt.props,
		})
		var ve *cptypes.ValidationException
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (!errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tt.want)):
			t.Errorf("%s: %v, want a ValidationException naming %s", tt.name, err, tt.want)
		}
	}
}
