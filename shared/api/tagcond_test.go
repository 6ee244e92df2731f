package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/store"
)

// blueTeamPolicy lets a key start only the pipelines tagged team=blue and
// create pipelines only with the tag team=blue (and no other tag key).
const blueTeamPolicy = `{"Version":"2012-10-17","Statement":[
  {"Sid":"StartBlue","Effect":"Allow","Action":"codepipeline:StartPipelineExecution","Resource":"*",
   "Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}},
  {"Sid":"CreateBlue","Effect":"Allow","Action":"codepipeline:CreatePipeline","Resource":"*",
   "Condition":{"StringEquals":{"aws:RequestTag/team":"blue"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}`

// TestTagConditionsEndToEnd: a key under a policy with tag conditions,
// through the AWS SDK against a running server.
func TestTagConditionsEndToEnd(t *testing.T) {
	srv := apitest.NewServer(t)
	ctx := context.Background()
	admin := sdkClient(srv)
	key := srv.NewKey("blue", store.AttachedPolicy{Name: "BlueTeam", Document: blueTeamPolicy})
	blue := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.StaticCredentialsProvider{Value: key},
	})
	tag := func(k, v string) cptypes.Tag { return cptypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	for name, tags := range map[string][]cptypes.Tag{"p-blue": {tag("team", "blue")}, "p-red": {tag("team", "red")}, "p-none": nil} {
		if _, err := admin.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: sdkGate(name, "Approve"), Tags: tags}); err != nil {
			t.Fatalf("admin creating %s: %v", name, err)
		}
	}
	start := func(name string) error {
		_, err := blue.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
		return err
	}
	denied := func(t *testing.T, what string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("%s: %v, want AccessDeniedException", what, err)
		}
	}

	if err := start("p-blue"); err != nil {
		t.Fatalf("starting the blue pipeline: %v", err)
	}
	denied(t, "starting the red pipeline", start("p-red"))
	denied(t, "starting the untagged pipeline", start("p-none"))

	// The resource's tags are read at each request: retagged, red is blue.
	if _, err := admin.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: aws.String(srv.Service.PipelineArn("p-red")), Tags: []cptypes.Tag{tag("team", "blue")}}); err != nil {
		t.Fatal(err)
	}
	if err := start("p-red"); err != nil {
		t.Fatalf("starting the retagged pipeline: %v", err)
	}

	create := func(name string, tags ...cptypes.Tag) error {
		_, err := blue.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: sdkGate(name, "Approve"), Tags: tags})
		return err
	}
	if err := create("c-blue", tag("team", "blue")); err != nil {
		t.Fatalf("creating with team=blue: %v", err)
	}
	denied(t, "creating with team=red", create("c-red", tag("team", "red")))
	denied(t, "creating without tags", create("c-none"))
	denied(t, "creating with another tag key too", create("c-more", tag("team", "blue"), tag("cost", "x")))
	for _, name := range []string{"c-red", "c-none", "c-more"} {
		if _, err := admin.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)}); err == nil || !strings.Contains(err.Error(), "PipelineNotFound") {
			t.Errorf("%s exists after a denied create: %v", name, err)
		}
	}
}
