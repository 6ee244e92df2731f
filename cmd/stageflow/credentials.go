package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/embedded"
)

// The client commands sign their requests with AWS Signature Version 4.
// They find credentials where the AWS CLI would when the environment names
// them (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SHARED_CREDENTIALS_FILE), and
// otherwise in the credentials file the server wrote to its data directory
// (STAGEFLOW_DATA_DIR, or .stageflow), profile stageflow. With none, they
// send unsigned requests, which only a server run with --auth none serves.

// signingRegion is the region requests are signed for: AWS_REGION,
// AWS_DEFAULT_REGION, or the server's default.
func signingRegion() string {
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(v); r != "" {
			return r
		}
	}
	return embedded.DefaultRegion
}

// credentialsFile is the server's credentials file the client commands
// read when the environment names no credentials.
func credentialsFile() string {
	return filepath.Join(embedded.DefaultDataDir(), embedded.CredentialsFile)
}

// findCredentials returns the credentials the client commands sign with,
// and where they came from; nil when there are none. An error is a
// credentialsError.
func findCredentials(ctx context.Context) (aws.CredentialsProvider, string, error) {
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SHARED_CREDENTIALS_FILE"} {
		if os.Getenv(v) == "" {
			continue
		}
		if v == "AWS_ACCESS_KEY_ID" && os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
			return nil, "", credentialsError{"$" + v, errors.New("AWS_SECRET_ACCESS_KEY is not set (the secret shown once by `stageflow keys create`)")}
		}
		// Stageflow's keys are never an EC2 instance's: do not ask the
		// instance metadata service.
		cfg, err := config.LoadDefaultConfig(ctx, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
		if err != nil {
			return nil, "", credentialsError{"$" + v, err}
		}
		return checkedProvider{cfg.Credentials, "$" + v}, "$" + v, nil
	}
	path := credentialsFile()
	id, secret, err := embedded.ReadCredentialsFile(path, embedded.CredentialsProfile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", credentialsError{path, err}
	}
	return credentials.NewStaticCredentialsProvider(id, secret, ""), path, nil
}

// credentialsError is a failure to find the credentials to sign with:
// reported as such, not as a server out of reach.
type credentialsError struct {
	where string // the variable or file that named them
	err   error
}

func (e credentialsError) Error() string {
	return fmt.Sprintf("cannot find the credentials to sign requests with (named by %s): %v", e.where, e.err)
}

func (e credentialsError) Unwrap() error { return e.err }

// checkedProvider makes a provider's failure (AWS_ACCESS_KEY_ID without
// AWS_SECRET_ACCESS_KEY, an empty profile) a credentialsError.
type checkedProvider struct {
	aws.CredentialsProvider
	where string
}

func (p checkedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, credentialsError{p.where, err}
	}
	return c, nil
}

// httpClient is the HTTP client of the client commands: signing when
// credentials were found (signed reports whether it signs).
func httpClient(ctx context.Context) (hc *http.Client, signed bool, err error) {
	creds, _, err := findCredentials(ctx)
	if err != nil {
		return nil, false, err
	}
	if creds == nil {
		return &http.Client{}, false, nil
	}
	return awssign.Client(creds, signingRegion()), true, nil
}

// explainAuthError adds to an error of a client command what the user
// can do about it: where credentials are looked for when the server found
// none, and no "cannot reach the server" for a credentials problem.
func explainAuthError(err error) error {
	var ce credentialsError
	if errors.As(err, &ce) {
		return ce
	}
	var re *restclient.Error
	if errors.As(err, &re) && re.Code == "MissingAuthenticationTokenException" {
		return fmt.Errorf("%w\n(no credentials found: the client commands sign with the AWS variables AWS_PROFILE, AWS_ACCESS_KEY_ID "+
			"or AWS_SHARED_CREDENTIALS_FILE when set, else with the server's admin key in %s; "+
			"set STAGEFLOW_DATA_DIR to the server's data directory, or use a key from `stageflow keys create`)", err, credentialsFile())
	}
	return err
}
