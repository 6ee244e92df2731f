package auth

import (
	"fmt"
	"strings"
	"testing"
)

func TestActionMatches(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "codepipeline:GetPipeline", true},
		{"codepipeline:*", "codepipeline:GetPipeline", true},
		{"codepipeline:Get*", "codepipeline:GetPipelineState", true},
		{"codepipeline:Get*", "codepipeline:ListPipelines", false},
		{"CODEPIPELINE:getpipeline", "codepipeline:GetPipeline", true}, // case-insensitive
		{"codepipeline:Get?ipeline", "codepipeline:GetPipeline", true},
		{"codepipeline:Get?ipeline", "codepipeline:GetPipelineState", false},
		{"codepipeline:*Pipeline", "codepipeline:StartPipelineExecution", false},
		{"codepipeline:*Pipeline*", "codepipeline:StartPipelineExecution", true},
		{"stageflow:*", "codepipeline:GetPipeline", false},
		{"codepipeline:GetPipeline", "codepipeline:GetPipelineState", false},
	}
	for _, tt := range tests {
		if got := actionMatches(tt.pattern, tt.action); got != tt.want {
			t.Errorf("actionMatches(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestResourceMatches(t *testing.T) {
	const p = "arn:aws:codepipeline:us-east-1:123456789012:"
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", p + "prod", true},
		{p + "prod", p + "prod", true},
		{p + "prod", p + "Prod", false}, // case-sensitive
		{p + "prod", p + "prod/S/A", false},
		{p + "prod*", p + "prod/S/A", true},
		{p + "prod/*", p + "prod/S/A", true},
		{p + "prod/*", p + "prod", false},
		{p + "pro?", p + "prod", true},
		{p + "pro?", p + "produce", false},
		{"arn:aws:codepipeline:*:123456789012:prod", p + "prod", true},
		{"arn:aws:codepipeline:us-*:123456789012:prod", p + "prod", true},
		{"arn:aws:codepipeline:eu-*:123456789012:prod", p + "prod", false},
		{"arn:aws:codepipeline:*", p + "prod", true}, // a trailing * spans colons
		{"arn:aws:codepipeline:us-east-1:*", p + "actiontype:Custom/Build/Tool/1", true},
		// A * inside a segment does not span a colon...
		{"arn:aws:codepipeline:us*1:123456789012:prod", p + "prod", true},
		{"arn:aws:codepipeline:us*2:prod", p + "prod", false},
		// ...nor does ?.
		{"arn:aws:codepipeline:us-east-1?123456789012:prod", p + "prod", false},
		// A * ending a segment may (IAM: "can expand to match beyond colon boundaries").
		{"arn:aws:codepipeline:*:prod", p + "prod", true},
		{p + "actiontype:Custom/*", p + "actiontype:Custom/Build/Tool/1", true},
		{p + "actiontype:AWS/*", p + "actiontype:Custom/Build/Tool/1", false},
		{p + "p*", "arn:aws:codepipeline:us-east-1:999999999999:p", false},
	}
	for _, tt := range tests {
		if got := resourceMatches(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("resourceMatches(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}

// TestGlobIsNotExponential: a hostile pattern of many stars is decided in
// time proportional to its length times the name's.
func TestGlobIsNotExponential(t *testing.T) {
	pattern := "arn:aws:codepipeline:r:1:" + strings.Repeat("a*", 2000) + "b"
	name := "arn:aws:codepipeline:r:1:" + strings.Repeat("a", 2000)
	if resourceMatches(pattern, name) {
		t.Fatal("matched")
	}
}

func TestEvaluate(t *testing.T) {
	const arn = "arn:aws:codepipeline:us-east-1:123456789012:"
	allowAll := MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:*","Resource":"*"}]}`)
	denyProd := MustParse(`{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"codepipeline:*","Resource":["` + arn + `prod","` + arn + `prod/*"]}]}`)
	notAction := MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"codepipeline:Delete*","Resource":"*"}]}`)
	denyNot := MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	readOnly, _ := Builtin(ReadOnlyAccess)
	tests := []struct {
		name             string
		policies         []*Policy
		action, resource string
		want             Decision
	}{
		{"no policies: default deny", nil, "codepipeline:GetPipeline", arn + "p", ImplicitDeny},
		{"allow", []*Policy{allowAll}, "codepipeline:GetPipeline", arn + "p", Allowed},
		{"allow is case-insensitive in the action", []*Policy{allowAll}, "CodePipeline:getpipeline", arn + "p", Allowed},
		{"other service", []*Policy{allowAll}, "stageflow:GetActionLogs", arn + "p", ImplicitDeny},
		{"explicit deny wins", []*Policy{allowAll, denyProd}, "codepipeline:StartPipelineExecution", arn + "prod", ExplicitDeny},
		{"explicit deny wins whatever the order", []*Policy{denyProd, allowAll}, "codepipeline:StartPipelineExecution", arn + "prod", ExplicitDeny},
		{"deny on an action of the pipeline", []*Policy{allowAll, denyProd}, "codepipeline:PutApprovalResult", arn + "prod/S/A", ExplicitDeny},
		{"deny elsewhere leaves allow", []*Policy{allowAll, denyProd}, "codepipeline:StartPipelineExecution", arn + "production", Allowed},
		{"deny alone is not allow", []*Policy{denyProd}, "codepipeline:GetPipeline", arn + "other", ImplicitDeny},
		{"NotAction allows the rest", []*Policy{notAction}, "codepipeline:GetPipeline", arn + "p", Allowed},
		{"NotAction leaves its actions out", []*Policy{notAction}, "codepipeline:DeletePipeline", arn + "p", ImplicitDeny},
		{"NotAction matches other services too", []*Policy{notAction}, "stageflow:GetActionLogs", arn + "p", Allowed},
		{"Deny with NotAction denies the rest", []*Policy{allowAll, denyNot}, "codepipeline:StartPipelineExecution", arn + "p", ExplicitDeny},
		{"Deny with NotAction spares its actions", []*Policy{allowAll, denyNot}, "codepipeline:GetPipeline", arn + "p", Allowed},
		{"read-only reads", []*Policy{readOnly}, "codepipeline:ListPipelines", "*", Allowed},
		{"read-only does not start", []*Policy{readOnly}, "codepipeline:StartPipelineExecution", arn + "p", ImplicitDeny},
		{"ARNs are case-sensitive", []*Policy{allowAll, denyProd}, "codepipeline:GetPipeline", arn + "PROD", Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := Evaluate(tt.policies, tt.action, tt.resource, nil)
			if got != tt.want {
				t.Fatalf("Evaluate = %v, want %v", got, tt.want)
			}
			if (st == nil) != (got == ImplicitDeny) {
				t.Fatalf("deciding statement %v for %v", st, got)
			}
		})
	}
}

func ExampleEvaluate() {
	p := MustParse(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"codepipeline:*","Resource":"*"},
	  {"Sid":"NoProd","Effect":"Deny","Action":"codepipeline:StartPipelineExecution","Resource":"arn:aws:codepipeline:us-east-1:123456789012:prod"}]}`)
	d, st := Evaluate([]*Policy{p}, "codepipeline:StartPipelineExecution", "arn:aws:codepipeline:us-east-1:123456789012:prod", nil)
	fmt.Println(d, st.Sid)
	// Output: explicit deny NoProd
}
