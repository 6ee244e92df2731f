package main

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

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

// findCredentials returns the credentials the client commands sign with,
// and where they came from; nil when there are none.
func findCredentials(ctx context.Context) (aws.CredentialsProvider, string, error) {
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SHARED_CREDENTIALS_FILE"} {
		if os.Getenv(v) == "" {
			continue
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, "", err
		}
		return cfg.Credentials, v, nil
	}
	path := filepath.Join(embedded.DefaultDataDir(), embedded.CredentialsFile)
	id, secret, err := embedded.ReadCredentialsFile(path, embedded.CredentialsProfile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return credentials.NewStaticCredentialsProvider(id, secret, ""), path, nil
}

// httpClient is the HTTP client of the client commands: signing when
// credentials were found.
func httpClient(ctx context.Context) (*http.Client, error) {
	creds, _, err := findCredentials(ctx)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return &http.Client{}, nil
	}
	return awssign.Client(creds, signingRegion()), nil
}
