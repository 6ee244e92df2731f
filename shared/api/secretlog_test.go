package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/secrets"
)

// headerRecorder is an HTTP client that remembers the secret-bearing
// headers and query parameters of every request it sends.
type headerRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	for _, v := range []string{r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token"),
		r.URL.Query().Get("X-Amz-Signature"), r.URL.Query().Get("X-Amz-Security-Token")} {
		if v != "" {
			h.seen = append(h.seen, v)
		}
		// The signature on its own, as a log could show it without the header.
		if _, sig, ok := strings.Cut(v, "Signature="); ok {
			h.seen = append(h.seen, sig)
		}
	}
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (h *headerRecorder) values() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// TestNoSecretInLogs runs a session where secrets cross the server (a
// signed SDK client, a job worker taking a job with artifact credentials
// and using them on the S3 door, signed and presigned, and with a wrong
// secret, a secret configuration property, a Commands action reading a
// SECRETS_MANAGER variable) and checks that the server's log, at debug
// level, shows none of them, nor the action log the secret store's value.
func TestNoSecretInLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := apitest.NewServer(t, apitest.WithLogger(logger), apitest.WithoutFirstExecution())
	const storedSecret = "stored-SECRET-value-7d1e"
	clientSecret := srv.Admin.SecretAccessKey
	if err := secrets.Open(srv.DataDir).Put("prod/token", storedSecret); err != nil {
		t.Fatal(err)
	}
	rec := &headerRecorder{}
	httpClient := &http.Client{Transport: rec}
	cp := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{}, HTTPClient: httpClient,
		Credentials: srv.Credentials(),
	})
	createSecretType(t, ctx, cp)
	p := secretPipeline("logged", secretOne)
	mk := &p.Stages[0].Actions[0]
	mk.Commands = []string{`echo "token $TOKEN"`, "echo made > made.txt"}
	mk.EnvironmentVariables = []cptypes.EnvironmentVariable{{Name: aws.String("TOKEN"), Value: aws.String("prod/token"), Type: cptypes.EnvironmentVariableTypeSecretsManager}}
	mk.OutputArtifacts = []cptypes.OutputArtifact{{Name: aws.String("Made"), Files: []string{"made.txt"}}}
	p.Stages[1].Actions[0].InputArtifacts = []cptypes.InputArtifact{{Name: aws.String("Made")}}
	// The worker's type takes the artifact (a second type: SecretWorker takes none).
	typ := &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerCustom, Provider: aws.String("LoggedWorker"), Version: aws.String("1")}
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: typ.Category, Provider: typ.Provider, Version: typ.Version,
		InputArtifactDetails:  &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
		OutputArtifactDetails: &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
		ConfigurationProperties: []cptypes.ActionConfigurationProperty{
			{Name: aws.String("Token"), Required: true, Secret: true},
			{Name: aws.String("Env"), Required: true, Key: true},
		},
	}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	p.Stages[1].Actions[0].ActionTypeId = typ
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	start, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("logged")})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(start.PipelineExecutionId)

	var job cptypes.Job
	for deadline := time.Now().Add(30 * time.Second); job.Id == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no job within 30s")
		}
		out, err := cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: typ, MaxBatchSize: aws.Int32(1)})
		if err != nil {
			t.Fatalf("PollForJobs: %v", err)
		}
		if len(out.Jobs) == 1 {
			job = out.Jobs[0]
		}
	}
	if _, err := cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: job.Nonce}); err != nil {
		t.Fatalf("AcknowledgeJob: %v", err)
	}
	if _, err := cp.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: job.Id}); err != nil {
		t.Fatalf("GetJobDetails: %v", err)
	}
	creds := job.Data.ArtifactCredentials
	if creds == nil || len(job.Data.InputArtifacts) != 1 || job.Data.ActionConfiguration.Configuration["Token"] != secretOne {
		t.Fatalf("job data %+v", job.Data)
	}
	loc := job.Data.InputArtifacts[0].Location.S3Location
	s3c := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Retryer: aws.NopRetryer{}, HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken)),
	})
	if _, err := getObject(ctx, s3c, aws.ToString(loc.BucketName), aws.ToString(loc.ObjectKey)); err != nil {
		t.Fatalf("GetObject with the artifact credentials: %v", err)
	}
	pre, err := awss3.NewPresignClient(s3c).PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: loc.BucketName, Key: loc.ObjectKey})
	if err != nil {
		t.Fatalf("presigning: %v", err)
	}
	u, _ := url.Parse(pre.URL)
	rec.mu.Lock()
	rec.seen = append(rec.seen, u.Query().Get("X-Amz-Signature"), u.Query().Get("X-Amz-Security-Token"))
	rec.mu.Unlock()
	if resp, err := http.Get(pre.URL); err != nil {
		t.Fatalf("presigned GET: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// Whatever the door thinks of presigned URLs, what matters here is the log.
	}
	wrong := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Retryer: aws.NopRetryer{}, HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), "wrong-"+aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken)),
	})
	if _, err := getObject(ctx, wrong, aws.ToString(loc.BucketName), aws.ToString(loc.ObjectKey)); err == nil {
		t.Fatal("GetObject with a wrong secret succeeded")
	}
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id}); err != nil {
		t.Fatalf("PutJobSuccessResult: %v", err)
	}

	// The REST door's views, the action log among them.
	var record struct {
		Status  string `json:"status"`
		Actions []struct {
			ID     string `json:"id"`
			Action string `json:"action"`
		} `json:"actions"`
	}
	var answers []string // what the REST door answered
	for deadline := time.Now().Add(30 * time.Second); record.Status != "Succeeded"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("execution status %q after 30s", record.Status)
		}
		body := restGet(t, ctx, srv, "/v1/pipelines/logged/executions/"+execID)
		answers = append(answers, body)
		if err := json.Unmarshal([]byte(body), &record); err != nil {
			t.Fatal(err)
		}
	}
	answers = append(answers, restGet(t, ctx, srv, "/v1/pipelines/logged"), restGet(t, ctx, srv, "/v1/pipelines/logged/action-executions"))
	logs := 0
	for _, a := range record.Actions {
		if a.Action != "Make" {
			continue
		}
		logs++
		log := restGet(t, ctx, srv, "/v1/pipelines/logged/executions/"+execID+"/actions/"+a.ID+"/logs")
		if strings.Contains(log, storedSecret) || !strings.Contains(log, "token ***") {
			t.Errorf("the action log does not mask the secret:\n%s", log)
		}
	}
	if logs != 1 {
		t.Errorf("%d runs of Make in the record, want 1", logs)
	}

	srv.HTTP.Close() // every handler has returned, and so logged
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "PollForJobs") || !strings.Contains(out, "door=s3") {
		t.Fatalf("the log misses the session's requests:\n%s", out)
	}
	secretsSent := append([]string{clientSecret, storedSecret, secretOne,
		aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken)}, rec.values()...)
	for _, s := range secretsSent {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the server log shows the secret %q:\n%s", s, out)
		}
		for _, a := range answers {
			if s != "" && strings.Contains(a, s) {
				t.Errorf("a REST answer shows the secret %q:\n%s", s, a)
			}
		}
	}
}
