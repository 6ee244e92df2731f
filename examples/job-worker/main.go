// Command job-worker is a small custom-action job worker for Stageflow,
// written only against the AWS SDK for Go v2, so it would work the same
// against AWS CodePipeline.
//
// It polls for jobs of one custom action type, acknowledges each, downloads
// the job's input artifacts (zip files) with the S3 client and the job's
// artifactCredentials, counts their files, writes report.txt into a zip,
// uploads that zip to every output artifact location, and reports success
// with output variables (FileCount, ByteCount, InputArtifactCount) — or
// failure with the error.
//
//	job-worker -category Deploy -provider FileCounter -version 1
//
// The endpoint comes from STAGEFLOW_ENDPOINT (default
// http://127.0.0.1:8480): Stageflow serves the CodePipeline API and the S3
// endpoint of its artifact bucket on the same port. See README.md.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// defaultEndpoint is where `stageflow serve` listens by default.
const defaultEndpoint = "http://127.0.0.1:8480"

// maxArtifactBytes bounds the size of an input artifact the worker reads.
const maxArtifactBytes = 512 << 20

// Config configures a worker.
type Config struct {
	Endpoint     string // Stageflow's URL: the CodePipeline API and the S3 endpoint
	Region       string
	ActionType   types.ActionTypeId
	PollInterval time.Duration
	// Once makes Run return after the first job.
	Once bool
}

// Worker serves jobs of one action type.
type Worker struct {
	cfg     Config
	awsCfg  aws.Config
	cp      *codepipeline.Client
	log     *slog.Logger
	handled int
}

func main() {
	cfg := Config{}
	var category, provider, version string
	flag.StringVar(&category, "category", "Deploy", "action type category (Source, Build, Deploy, Test, Invoke, Approval, Compute)")
	flag.StringVar(&provider, "provider", "", "action type provider (required), as given to CreateCustomActionType")
	flag.StringVar(&version, "version", "1", "action type version")
	flag.StringVar(&cfg.Endpoint, "endpoint", envOr("STAGEFLOW_ENDPOINT", defaultEndpoint), "Stageflow endpoint (default: $STAGEFLOW_ENDPOINT or "+defaultEndpoint+")")
	flag.StringVar(&cfg.Region, "region", envOr("AWS_REGION", "us-east-1"), "region to sign requests for")
	flag.DurationVar(&cfg.PollInterval, "poll-interval", 2*time.Second, "pause between polls when no job is waiting")
	flag.BoolVar(&cfg.Once, "once", false, "exit after handling one job")
	flag.Parse()
	if provider == "" {
		fmt.Fprintln(os.Stderr, "job-worker: -provider is required")
		flag.Usage()
		os.Exit(2)
	}
	cfg.ActionType = types.ActionTypeId{
		Category: types.ActionCategory(category), Owner: types.ActionOwnerCustom,
		Provider: aws.String(provider), Version: aws.String(version),
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	w, err := New(ctx, cfg, logger)
	if err != nil {
		logger.Error("starting", "err", err)
		os.Exit(1)
	}
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("stopped", "err", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// New makes a worker. The worker's own credentials (for the CodePipeline
// API) come from the usual AWS sources (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …): against Stageflow, a key made with
// `stageflow keys create --user worker --policy AWSCodePipelineCustomActionAccess`.
// Without any, New fails saying so.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Worker, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials to sign with (%w): give the worker a key of its own, made with "+
			"`stageflow keys create --user worker --policy AWSCodePipelineCustomActionAccess`, "+
			"as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile: AWS_PROFILE)", err)
	}
	cp := codepipeline.NewFromConfig(awsCfg, func(o *codepipeline.Options) {
		o.BaseEndpoint = aws.String(cfg.Endpoint)
	})
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	return &Worker{cfg: cfg, awsCfg: awsCfg, cp: cp, log: logger}, nil
}

// Run polls for jobs until ctx ends (or, with Once, until one job is handled).
func (w *Worker) Run(ctx context.Context) error {
	typ := w.cfg.ActionType
	w.log.Info("polling for jobs", "endpoint", w.cfg.Endpoint, "actionType",
		fmt.Sprintf("%s/%s/%s/%s", typ.Category, typ.Owner, aws.ToString(typ.Provider), aws.ToString(typ.Version)))
	for {
		out, err := w.cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: &typ, MaxBatchSize: aws.Int32(1)})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var notFound *types.ActionTypeNotFoundException
			if errors.As(err, &notFound) {
				return fmt.Errorf("the action type does not exist; create it with CreateCustomActionType: %w", err)
			}
			w.log.Warn("polling failed; retrying", "err", err)
		}
		if out != nil {
			for _, job := range out.Jobs {
				w.Handle(ctx, job)
				if w.cfg.Once {
					return nil
				}
			}
			if len(out.Jobs) > 0 {
				continue // there may be more waiting
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.cfg.PollInterval):
		}
	}
}

// Handle acknowledges a job, does it and reports the result.
func (w *Worker) Handle(ctx context.Context, job types.Job) {
	id := aws.ToString(job.Id)
	log := w.log.With("job", id)
	ack, err := w.cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: job.Nonce})
	if err != nil {
		log.Error("acknowledging", "err", err)
		return
	}
	if ack.Status != types.JobStatusInProgress {
		log.Info("skipping job", "status", ack.Status)
		return
	}
	w.handled++
	if pc := job.Data.PipelineContext; pc != nil {
		log = log.With("pipeline", aws.ToString(pc.PipelineName), "execution", aws.ToString(pc.PipelineExecutionId))
	}
	log.Info("working")
	vars, summary, err := w.do(ctx, job.Data)
	if err != nil {
		log.Error("job failed", "err", err)
		msg := err.Error()
		if len(msg) > 5000 {
			msg = msg[:5000]
		}
		if _, perr := w.cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
			JobId:          job.Id,
			FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String(msg), ExternalExecutionId: aws.String("job-worker-" + id)},
		}); perr != nil {
			log.Error("reporting the failure", "err", perr)
		}
		return
	}
	if _, err := w.cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:            job.Id,
		OutputVariables:  vars,
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String(summary), ExternalExecutionId: aws.String("job-worker-" + id), PercentComplete: aws.Int32(100)},
	}); err != nil {
		log.Error("reporting success", "err", err)
		return
	}
	log.Info("job succeeded", "summary", summary)
}

// do counts the files of the input artifacts and uploads the report.
func (w *Worker) do(ctx context.Context, data *types.JobData) (map[string]string, string, error) {
	if data == nil {
		return nil, "", errors.New("the job has no data")
	}
	client, err := w.artifactClient(data.ArtifactCredentials)
	if err != nil {
		return nil, "", err
	}
	var report strings.Builder
	fmt.Fprintf(&report, "job-worker report, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	if ac := data.ActionConfiguration; ac != nil && len(ac.Configuration) > 0 {
		report.WriteString("configuration:\n")
		keys := make([]string, 0, len(ac.Configuration))
		for k := range ac.Configuration {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&report, "  %s = %s\n", k, ac.Configuration[k])
		}
		report.WriteString("\n")
	}
	files, size := 0, uint64(0)
	for _, in := range data.InputArtifacts {
		name := aws.ToString(in.Name)
		bucket, key, err := location(in)
		if err != nil {
			return nil, "", fmt.Errorf("input artifact %s: %w", name, err)
		}
		zr, err := download(ctx, client, bucket, key)
		if err != nil {
			return nil, "", fmt.Errorf("input artifact %s: %w", name, err)
		}
		fmt.Fprintf(&report, "input artifact %s (s3://%s/%s):\n", name, bucket, key)
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			files++
			size += f.UncompressedSize64
			fmt.Fprintf(&report, "  %10d  %s\n", f.UncompressedSize64, f.Name)
		}
	}
	summary := fmt.Sprintf("%d files, %d bytes in %d input artifacts", files, size, len(data.InputArtifacts))
	fmt.Fprintf(&report, "\ntotal: %s\n", summary)

	if len(data.OutputArtifacts) > 0 {
		zipped, err := zipReport(report.String())
		if err != nil {
			return nil, "", err
		}
		for _, out := range data.OutputArtifacts {
			name := aws.ToString(out.Name)
			bucket, key, err := location(out)
			if err != nil {
				return nil, "", fmt.Errorf("output artifact %s: %w", name, err)
			}
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(key),
				Body: bytes.NewReader(zipped), ContentType: aws.String("application/zip"),
			}); err != nil {
				return nil, "", fmt.Errorf("uploading output artifact %s to s3://%s/%s: %w", name, bucket, key, err)
			}
		}
	}
	vars := map[string]string{
		"FileCount":          strconv.Itoa(files),
		"ByteCount":          strconv.FormatUint(size, 10),
		"InputArtifactCount": strconv.Itoa(len(data.InputArtifacts)),
	}
	return vars, summary, nil
}

// artifactClient is an S3 client for the artifact bucket, signing with the
// job's artifact credentials, path-style (http://host:port/bucket/key).
func (w *Worker) artifactClient(creds *types.AWSSessionCredentials) (*s3.Client, error) {
	if creds == nil || aws.ToString(creds.AccessKeyId) == "" {
		return nil, errors.New("the job carries no artifactCredentials")
	}
	return s3.NewFromConfig(w.awsCfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(w.cfg.Endpoint)
		o.UsePathStyle = true
		o.Credentials = credentials.NewStaticCredentialsProvider(
			aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))
		// Plain requests: checksums only where S3 requires them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

func location(a types.Artifact) (bucket, key string, err error) {
	if a.Location == nil || a.Location.S3Location == nil {
		return "", "", errors.New("no S3 location")
	}
	bucket, key = aws.ToString(a.Location.S3Location.BucketName), aws.ToString(a.Location.S3Location.ObjectKey)
	if bucket == "" || key == "" {
		return "", "", errors.New("no S3 location")
	}
	return bucket, key, nil
}

func download(ctx context.Context, client *s3.Client, bucket, key string) (*zip.Reader, error) {
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("downloading s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	data, err := io.ReadAll(io.LimitReader(obj.Body, maxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("downloading s3://%s/%s: %w", bucket, key, err)
	}
	if len(data) > maxArtifactBytes {
		return nil, fmt.Errorf("s3://%s/%s is larger than %d bytes", bucket, key, maxArtifactBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s is not a zip file: %w", bucket, key, err)
	}
	return zr, nil
}

func zipReport(report string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "report.txt", Method: zip.Deflate, Modified: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(f, report); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
