package deployed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// TestSDKSignsForExecuteAPI checks what the README tells job workers on IAM
// role credentials to do: the deployed CodePipeline door's IAM route
// (POST /codepipeline) is authorized by API Gateway, so a CodePipeline
// client pointed at it must sign for execute-api, which the SDK's
// signing-name option does (the default signs for codepipeline, which only
// the open route's own verification takes), and posts to the endpoint's
// path.
func TestSDKSignsForExecuteAPI(t *testing.T) {
	var auth, paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		paths = append(paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"pipelines":[]}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		opts  []func(*codepipeline.Options)
		path  string // of the endpoint
		scope string
	}{
		{"default", nil, "/", "/eu-west-1/codepipeline/aws4_request"},
		{"signing name execute-api", []func(*codepipeline.Options){codepipeline.WithSigV4SigningName("execute-api")}, CodePipelineIAMPath, "/eu-west-1/execute-api/aws4_request"},
	} {
		auth, paths = nil, nil
		c := codepipeline.New(codepipeline.Options{
			Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL + tc.path),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		}, tc.opts...)
		if _, err := c.ListPipelines(context.Background(), &codepipeline.ListPipelinesInput{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(auth) != 1 || !strings.Contains(auth[0], "Credential=AKIDEXAMPLE/") || !strings.Contains(auth[0], tc.scope+",") {
			t.Errorf("%s: Authorization %q, want the credential scope …%s", tc.name, auth, tc.scope)
		}
		if len(paths) != 1 || paths[0] != tc.path {
			t.Errorf("%s: posted to %q, want %s (the route)", tc.name, paths, tc.path)
		}
	}
}
