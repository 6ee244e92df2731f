// Package deployed assembles Stageflow as it runs in AWS — the DynamoDB
// store, the Step Functions driver and the service — from the environment
// infra gives each function (shared/lambdaenv), as shared/embedded does for
// one machine. functions/*/main.go call it and start their handler.
package deployed

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/artifacts/sts"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/lambdaenv"
	"github.com/stageflow/stageflow/shared/seal/kms"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
)

// Config is what a deployed function is configured with.
type Config struct {
	Table          string
	ArtifactBucket string
	// StateMachineARN: the api function's (it starts and stops state
	// machine executions); empty for advance and dispatch, which the state
	// machine invokes.
	StateMachineARN string
	// Region and Account make the service's ARNs (the api function's).
	Region, Account string
	// ArtifactRoleARN is the artifact access role the api function assumes
	// for each job's artifactCredentials (empty: jobs carry none).
	ArtifactRoleARN string
	// KMSKeyARN is the KMS key that seals the server's access keys'
	// secrets: the api function's. With it, access control is on: the
	// service keeps its access keys in the table and authorizes every
	// operation (service.NewPolicyAuthorizer, the callers established by
	// GatewayCallers and the doors); advance and dispatch, which only the
	// state machine invokes, have none.
	KMSKeyARN string
	// UserPoolID is the Cognito user pool of the console's routes (the api
	// function's).
	UserPoolID string
	// DynamoDBEndpoint overrides DynamoDB's endpoint (DynamoDB Local).
	DynamoDBEndpoint string
	// EnforcePolicies has the service evaluate its callers' policies
	// (service.NewPolicyAuthorizer) without the access keys KMSKeyARN
	// brings: the provider function's, whose one caller carries its policy.
	EnforcePolicies bool
	// ProviderPolicy is the provider function's policy (lambdaenv.ProviderPolicy).
	ProviderPolicy string
	// WebhookBaseURL starts every V1 webhook URL (lambdaenv.WebhookBaseURL:
	// the HTTP API's URL; empty: the request's).
	WebhookBaseURL string
	// ConsoleDomain and ConsoleClientID are the console's Cognito sign-in
	// (lambdaenv.ConsoleDomain, lambdaenv.ConsoleClientID: the api
	// function's; APIHandler).
	ConsoleDomain, ConsoleClientID string
	Logger                         *slog.Logger
}

// The variables each function reads (infra sets exactly these).
var (
	APIEnv = []string{lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.StateMachineARN, lambdaenv.Account, lambdaenv.ArtifactRoleARN,
		lambdaenv.KMSKeyARN, lambdaenv.UserPoolID}
	HandlerEnv = []string{lambdaenv.Table, lambdaenv.ArtifactBucket}
	// ProviderEnv is the CloudFormation provider's: it creates pipelines
	// (whose first execution it starts) and names their ARNs; its policy,
	// lambdaenv.ProviderPolicy, is optional.
	ProviderEnv = []string{lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.StateMachineARN, lambdaenv.Account}
	// WebhookEnv is the webhook function's: it reads webhooks and
	// connections (their secrets sealed with the KMS key), starts
	// executions (the state machine) and names ARNs (the account).
	WebhookEnv = []string{lambdaenv.Table, lambdaenv.ArtifactBucket, lambdaenv.StateMachineARN, lambdaenv.Account, lambdaenv.KMSKeyARN}
)

// FromEnv reads the named variables (APIEnv or HandlerEnv) with lookup
// (os.LookupEnv), and the Region from AWS_REGION, which Lambda sets.
func FromEnv(lookup func(string) (string, bool), names []string) (Config, error) {
	env, err := lambdaenv.Load(lookup, names...)
	if err != nil {
		return Config{}, err
	}
	region, _ := lookup("AWS_REGION")
	endpoint, _ := lookup(lambdaenv.DynamoDBEndpoint)
	policy, _ := lookup(lambdaenv.ProviderPolicy)
	webhookBase, _ := lookup(lambdaenv.WebhookBaseURL)
	consoleDomain, _ := lookup(lambdaenv.ConsoleDomain)
	consoleClient, _ := lookup(lambdaenv.ConsoleClientID)
	return Config{ProviderPolicy: policy, WebhookBaseURL: strings.TrimSpace(webhookBase),
		ConsoleDomain: strings.TrimSpace(consoleDomain), ConsoleClientID: strings.TrimSpace(consoleClient),
		Table: env[lambdaenv.Table], ArtifactBucket: env[lambdaenv.ArtifactBucket],
		StateMachineARN: env[lambdaenv.StateMachineARN], Account: env[lambdaenv.Account],
		ArtifactRoleARN: env[lambdaenv.ArtifactRoleARN],
		KMSKeyARN:       env[lambdaenv.KMSKeyARN], UserPoolID: env[lambdaenv.UserPoolID],
		Region: region, DynamoDBEndpoint: endpoint,
	}, nil
}

// System is the deployed Stageflow of one function.
type System struct {
	Store   *dynamo.Store
	Driver  *sfn.Driver
	Service *service.Service
	// Gateway establishes the callers of the api function's requests
	// (GatewayCallers).
	Gateway Gateway
	// Config is what the system was opened with.
	Config Config
}

// Open builds the system: the store on the table, the driver on Step
// Functions (with the deployed providers: approvals and custom actions),
// and the service on both.
func Open(ctx context.Context, cfg Config) (*System, error) {
	now := func() time.Time { return time.Now().UTC() }
	db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Endpoint: cfg.DynamoDBEndpoint, Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	st, err := dynamo.New(db, dynamo.Options{Table: cfg.Table, Now: now})
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	env := engine.Env{Now: now, NewID: uuid.NewString, ArtifactBucket: cfg.ArtifactBucket}
	// The service is made after the driver, which it drives; the driver's
	// hook of ended executions (an automated rollback to start) calls it.
	var svc *service.Service
	drv, err := sfn.New(sfn.Config{
		Store: st, API: awssfn.NewFromConfig(awsCfg), StateMachineARN: cfg.StateMachineARN,
		Providers: sfn.Providers(st, now), Env: env, Logger: cfg.Logger,
		OnChange: func(e *engine.Execution) {
			if e.AutoRollback != "" && e.Status == engine.Failed && svc != nil {
				// The hook has no request's context: a bounded one of its own.
				rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if err := svc.RollBackAutomatically(rctx, e); err != nil && cfg.Logger != nil {
					cfg.Logger.Error("starting an automated rollback", "execution", e.ID, "err", err)
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	// No ArtifactKey: deployed, a job's artifactCredentials are STS
	// sessions of the artifact access role, limited to the job's objects.
	var jobCreds func(context.Context, *store.Job, []engine.ArtifactRef, []engine.ArtifactRef) (*service.AWSSessionCredentials, error)
	if cfg.ArtifactRoleARN != "" {
		iss, err := sts.NewFromConfig(awsCfg, cfg.ArtifactRoleARN)
		if err != nil {
			return nil, err
		}
		jobCreds = jobCredentials(iss)
	}
	svcCfg := service.Config{
		Store: st, Driver: drv, Now: now, NewID: uuid.NewString,
		Region: cfg.Region, Account: cfg.Account, Logger: cfg.Logger, JobCredentials: jobCreds,
		WebhookBaseURL: cfg.WebhookBaseURL,
	}
	// The authorizer looks policies up in the service's principal-policy
	// store, so it calls the service it is part of: svc is set before any
	// request is served.
	if cfg.KMSKeyARN != "" {
		sealer, err := kms.NewFromConfig(awsCfg, cfg.KMSKeyARN, kms.Options{})
		if err != nil {
			return nil, err
		}
		svcCfg.Keys, svcCfg.Sealer = st, sealer
		svcCfg.Authorize = service.NewPolicyAuthorizer(GatewayPolicies(func(ctx context.Context, principal string) ([]*auth.Policy, error) {
			return svc.PrincipalPolicies(ctx, service.Caller{Principal: principal, Verified: true})
		}))
	}
	if svcCfg.Authorize == nil && cfg.EnforcePolicies {
		svcCfg.Authorize = service.NewPolicyAuthorizer(nil)
	}
	svc = service.New(svcCfg)
	return &System{Store: st, Driver: drv, Service: svc, Config: cfg,
		Gateway: Gateway{Region: cfg.Region, Account: cfg.Account, UserPoolID: cfg.UserPoolID}}, nil
}

// jobCredentials issues a job's artifactCredentials with iss: a session
// reading the job's input objects and writing its outputs, until the job's
// deadline.
func jobCredentials(iss *sts.Issuer) func(context.Context, *store.Job, []engine.ArtifactRef, []engine.ArtifactRef) (*service.AWSSessionCredentials, error) {
	objects := func(refs []engine.ArtifactRef) []sts.Object {
		out := make([]sts.Object, 0, len(refs))
		for _, r := range refs {
			out = append(out, sts.Object{Bucket: r.Bucket, Key: r.Key})
		}
		return out
	}
	return func(ctx context.Context, j *store.Job, read, write []engine.ArtifactRef) (*service.AWSSessionCredentials, error) {
		c, err := iss.Issue(ctx, j.ID, j.Deadline, objects(read), objects(write))
		if err != nil {
			return nil, err
		}
		return &service.AWSSessionCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	}
}

// Main is a function's main: the configuration from the environment (the
// variables names lists), the system, the handler handlerOf makes of it,
// and lambda.Start. Whatever fails before the handler runs is logged (JSON,
// as Lambda's logs take it) and ends the process with status 1.
func Main(name string, names []string, handlerOf func(sys *System, lg *slog.Logger) (any, error)) {
	MainWith(name, names, nil, handlerOf)
}

// MainWith is Main with adjust, when not nil, changing the configuration
// read from the environment before the system is opened.
func MainWith(name string, names []string, adjust func(*Config), handlerOf func(sys *System, lg *slog.Logger) (any, error)) {
	lg := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := FromEnv(os.LookupEnv, names)
	if err == nil {
		cfg.Logger = lg
		if adjust != nil {
			adjust(&cfg)
		}
		var sys *System
		if sys, err = Open(context.Background(), cfg); err == nil {
			var h any
			if h, err = handlerOf(sys, lg); err == nil {
				lambda.Start(h)
			}
		}
	}
	lg.Error(name+": cannot start", "err", err)
	os.Exit(1)
}
