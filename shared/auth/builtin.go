package auth

import "slices"

// The names of the built-in policies: AWS's managed policies for
// CodePipeline, keeping their codepipeline: statements (see the README's
// "Access control" section for what each drops and adds).
const (
	FullAccess         = "AWSCodePipeline_FullAccess"
	ReadOnlyAccess     = "AWSCodePipeline_ReadOnlyAccess"
	ApproverAccess     = "AWSCodePipelineApproverAccess"
	CustomActionAccess = "AWSCodePipelineCustomActionAccess"
	// StageflowFullAccess allows every stageflow: action (access keys,
	// policies of principals, and the reads); the admin key carries it
	// with FullAccess.
	StageflowFullAccess = "StageflowFullAccess"
)

// The stageflow: reads that go with reading executions: the whole record
// (REST), its event stream and its actions' logs.
var stageflowReads = []string{
	"stageflow:GetExecutionRecord",
	"stageflow:WatchExecution",
	"stageflow:GetActionLogs",
}

// The S3 door's reads, which go with reading pipelines: an artifact
// object, and the list of the bucket.
var artifactReads = []string{
	"stageflow:GetArtifactObject",
	"stageflow:ListArtifactObjects",
}

// builtins holds the documents, parsed at first use by Parse itself.
var builtins = map[string]string{
	// AWS's statement "codepipeline:*" on "*"; the statements for other
	// services are dropped.
	FullAccess: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "CodePipeline", "Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
    {"Sid": "StageflowReads", "Effect": "Allow", "Action": ` + jsonList(slices.Concat(stageflowReads, artifactReads)) + `, "Resource": "*"}
  ]
}`,
	ReadOnlyAccess: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "CodePipelineRead", "Effect": "Allow", "Action": [
      "codepipeline:GetPipeline", "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
      "codepipeline:ListPipelineExecutions", "codepipeline:ListActionExecutions", "codepipeline:ListActionTypes",
      "codepipeline:ListPipelines", "codepipeline:ListTagsForResource"], "Resource": "*"},
    {"Sid": "StageflowReads", "Effect": "Allow", "Action": ` + jsonList(slices.Concat(stageflowReads, artifactReads)) + `, "Resource": "*"}
  ]
}`,
	ApproverAccess: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "CodePipelineApprove", "Effect": "Allow", "Action": [
      "codepipeline:GetPipeline", "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
      "codepipeline:ListPipelineExecutions", "codepipeline:ListPipelines", "codepipeline:PutApprovalResult"], "Resource": "*"},
    {"Sid": "StageflowReads", "Effect": "Allow", "Action": ` + jsonList(stageflowReads) + `, "Resource": "*"}
  ]
}`,
	StageflowFullAccess: `{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "Stageflow", "Effect": "Allow", "Action": "stageflow:*", "Resource": "*"}]
}`,
	CustomActionAccess: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "CodePipelineJobWorker", "Effect": "Allow", "Action": [
      "codepipeline:AcknowledgeJob", "codepipeline:GetJobDetails", "codepipeline:PollForJobs",
      "codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"], "Resource": "*"}
  ]
}`,
}

var parsedBuiltins = func() map[string]*Policy {
	m := map[string]*Policy{}
	for name, doc := range builtins {
		m[name] = MustParse(doc)
	}
	return m
}()

// Builtin returns the built-in policy of a name. The policy is shared:
// callers must not change it.
func Builtin(name string) (*Policy, bool) {
	p, ok := parsedBuiltins[name]
	return p, ok
}

// BuiltinNames lists the built-in policies' names, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func jsonList(items []string) string {
	out := "["
	for i, s := range items {
		if i > 0 {
			out += ", "
		}
		out += `"` + s + `"`
	}
	return out + "]"
}
