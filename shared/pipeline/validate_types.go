package pipeline

import (
	"maps"
	"slices"

	"github.com/stageflow/stageflow/shared/strictjson"
)

// The action types Stageflow knows: an AWS provider must be one of them, and
// the configuration keys of the actions Stageflow runs itself are checked.

// Providers of owner AWS that Stageflow runs locally.
const (
	ProviderCommands  = "Commands"
	ProviderCodeBuild = "CodeBuild"
	ProviderManual    = "Manual"
)

// awsProviders are the providers of owner AWS: those Stageflow runs locally
// and those CodePipeline documents, which run only when Stageflow is
// deployed to AWS (they stay valid here).
var awsProviders = []string{
	ProviderCommands, ProviderCodeBuild, ProviderManual,
	"CodeCommit", "CodeStarSourceConnection", "S3", "ECR",
	"CodeDeploy", "CodeDeployToECS", "CloudFormation", "CloudFormationStackSet", "CloudFormationStackInstances",
	"ECS", "EKS", "Lambda", "ElasticBeanstalk", "OpsWorks", "ServiceCatalog", "AlexaSkillsKit",
	"DeviceFarm", "StepFunctions", "AppConfig", "Inspector", "InspectorScan", "ECRBuildAndPublish",
	"EC2", "Snyk",
}

// configKeys are the configuration keys of the actions Stageflow runs
// itself and checks. Commands actions take their work from the commands
// field; their configuration is passed through unchecked, since CodePipeline
// may add compute settings there that mean nothing locally.
var configKeys = map[string][]string{
	ProviderCodeBuild:          {"ProjectName", "PrimarySource", "BatchEnabled", "CombineArtifacts", "EnvironmentVariables", "BuildspecOverride"},
	"CodeStarSourceConnection": {"ConnectionArn", "FullRepositoryId", "BranchName", "OutputArtifactFormat", "DetectChanges"},
	"CodeCommit":               {"RepositoryName", "BranchName", "PollForSourceChanges", "OutputArtifactFormat"},
}

// actionType checks an action's provider, and what its provider needs.
func (v *validator) actionType(path string, a *Action) {
	t := a.ActionTypeID
	if t.Owner != OwnerAWS || t.Provider == "" || shProvider.CheckString(t.Provider) != "" {
		return
	}
	if !slices.Contains(awsProviders, t.Provider) {
		v.add(path+".actionTypeId.provider", "unknown provider %q for owner AWS%s", t.Provider, strictjson.Suggest(t.Provider, awsProviders))
		return
	}
	if t.Provider == ProviderCommands && a.Commands == nil { // an empty list is a count problem
		v.add(path+".commands", "a Commands action needs at least one command")
	}
	keys, checked := configKeys[t.Provider]
	if !checked {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(a.Configuration)) {
		if shConfigKey.CheckKey(k) == "" && !slices.Contains(keys, k) {
			v.add(path+".configuration."+k, "unknown configuration key %q of a %s action%s", k, t.Provider, strictjson.Suggest(k, keys))
		}
	}
}
