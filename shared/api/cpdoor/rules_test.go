package cpdoor_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

// ListRuleTypes through the AWS SDK: the rule types Stageflow knows, the
// owner and region filters, a bad filter refused, and the caller's access
// checked.
func TestSDKListRuleTypes(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)

	out, err := cp.ListRuleTypes(ctx, &codepipeline.ListRuleTypesInput{})
	if err != nil {
		t.Fatal(err)
	}
	byProvider := map[string]types.RuleType{}
	for _, rt := range out.RuleTypes {
		id := rt.Id
		if id == nil || id.Category != types.RuleCategoryRule || id.Owner != types.RuleOwnerAws || aws.ToString(id.Version) != "1" {
			t.Fatalf("rule type id %+v", id)
		}
		byProvider[aws.ToString(id.Provider)] = rt
	}
	for _, p := range []string{"CloudWatchAlarm", "CodeBuild", "Commands", "DeploymentWindow", "LambdaInvoke", "VariableCheck"} {
		if _, ok := byProvider[p]; !ok {
			t.Errorf("ListRuleTypes lacks %s", p)
		}
	}
	if len(byProvider) != 6 {
		t.Errorf("got %d rule types, want 6", len(byProvider))
	}
	props := map[string]types.RuleConfigurationProperty{}
	for _, p := range byProvider["DeploymentWindow"].RuleConfigurationProperties {
		props[aws.ToString(p.Name)] = p
	}
	if c := props["Cron"]; !c.Required || c.Type != types.RuleConfigurationPropertyTypeString {
		t.Errorf("DeploymentWindow Cron %+v", c)
	}
	if z, ok := props["TimeZone"]; !ok || z.Required {
		t.Errorf("DeploymentWindow TimeZone %+v", z)
	}
	if d := byProvider["Commands"].InputArtifactDetails; d == nil || d.MaximumCount != 10 {
		t.Errorf("Commands input artifacts %+v", d)
	}

	for _, tc := range []struct {
		name string
		in   codepipeline.ListRuleTypesInput
		want int
	}{
		{"owner AWS", codepipeline.ListRuleTypesInput{RuleOwnerFilter: types.RuleOwnerAws}, 6},
		{"the server's region", codepipeline.ListRuleTypesInput{RegionFilter: aws.String(apitest.Region)}, 6},
		{"another region", codepipeline.ListRuleTypesInput{RegionFilter: aws.String("ap-south-2")}, 0},
	} {
		out, err := cp.ListRuleTypes(ctx, &tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(out.RuleTypes) != tc.want {
			t.Errorf("%s: %d rule types, want %d", tc.name, len(out.RuleTypes), tc.want)
		}
	}

	for _, in := range []codepipeline.ListRuleTypesInput{
		{RuleOwnerFilter: "Custom"},
		{RegionFilter: aws.String("x")},
	} {
		_, err := cp.ListRuleTypes(ctx, &in)
		wantAPIError(t, err, "ValidationException")
	}

	nobody := srv.NewKey("nobody")
	denied := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.StaticCredentialsProvider{Value: nobody},
	})
	_, err = denied.ListRuleTypes(ctx, &codepipeline.ListRuleTypesInput{})
	wantAPIError(t, err, "AccessDeniedException")
}
