package apispec

// The table: every shape of the API definition that the pipeline model or an
// operation's input that Stageflow implements uses. The values are the
// definition's (botocore's service-2.json); the fidelity test checks them.

func str(name string, min, max int, pattern, what string) {
	define(Shape{Name: name, Type: "string", Min: min, Max: max, Pattern: pattern, What: what})
}

func list(name string, min, max int, member string) {
	define(Shape{Name: name, Type: "list", Min: min, Max: max, Member: member})
}

func integer(name string, min, max int) {
	define(Shape{Name: name, Type: "integer", Min: min, Max: max})
}

func enum(name string, values ...string) {
	define(Shape{Name: name, Type: "string", Enum: values})
}

// Patterns that several shapes share, and what they allow.
const (
	patName      = `[A-Za-z0-9.@\-_]+`
	patNameWhat  = "may only contain letters, digits and . @ _ -"
	patToken     = `[0-9A-Za-z_-]+`
	patTokenWhat = "may only contain letters, digits, _ and -"
	patVar       = `[A-Za-z0-9@\-_]+`
	patVarWhat   = "may only contain letters, digits and @ _ -"
	patLine      = `.*`
	patLineWhat  = "must not contain line breaks"
	patUUID      = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	patUUIDWhat  = "must be an ID of the form 01234567-89ab-cdef-0123-456789abcdef (lower-case hexadecimal)"
)

func init() {
	// Names.
	str("PipelineName", 1, 100, patName, patNameWhat)
	str("StageName", 1, 100, patName, patNameWhat)
	str("ActionName", 1, 100, patName, patNameWhat)
	str("RuleName", 1, 100, patName, patNameWhat)
	str("ArtifactName", 1, 100, `[a-zA-Z0-9_\-]+`, patTokenWhat)
	str("ActionNamespace", 1, 100, patVar, patVarWhat)
	str("BlockerName", 1, 100, "", "")
	str("ActionProvider", 1, 35, patToken, patTokenWhat)
	str("RuleProvider", 1, 35, patToken, patTokenWhat)
	str("Version", 1, 9, patToken, patTokenWhat)
	str("AWSRegionName", 4, 30, "", "")

	// Variables, configuration, commands.
	str("PipelineVariableName", 1, 128, patVar, patVarWhat)
	str("PipelineVariableValue", 1, 1000, patLine, patLineWhat)
	str("PipelineVariableDescription", 0, 200, patLine, patLineWhat)
	str("EnvironmentVariableName", 1, 128, `[A-Za-z0-9_]+`, "may only contain letters, digits and _")
	str("EnvironmentVariableValue", 1, 2000, patLine, patLineWhat)
	str("Command", 1, 1000, "", "")
	str("OutputVariable", 1, 128, "", "")
	str("FilePath", 1, 128, "", "")
	str("ActionConfigurationKey", 1, 50, "", "")
	str("ActionConfigurationValue", 1, 1000, "", "")
	str("ActionConfigurationQueryableValue", 1, 50, `[a-zA-Z0-9_-]+`, patTokenWhat)
	str("RuleConfigurationKey", 1, 50, "", "")
	str("RuleConfigurationValue", 1, 10000, "", "")
	str("OutputVariablesKey", 0, 0, patVar, patVarWhat)
	str("OutputVariablesValue", 0, 0, "", "")
	define(Shape{Name: "RuleConfigurationMap", Type: "map", Min: 0, Max: 200, Key: "RuleConfigurationKey", Value: "RuleConfigurationValue"})
	define(Shape{Name: "QueryParamMap", Type: "map", Min: 0, Max: 1, Key: "ActionConfigurationKey", Value: "ActionConfigurationQueryableValue"})
	define(Shape{Name: "OutputVariablesMap", Type: "map", Key: "OutputVariablesKey", Value: "OutputVariablesValue"})

	// Triggers.
	str("GitTagNamePattern", 1, 255, "", "")
	str("GitBranchNamePattern", 1, 255, patLine, patLineWhat)
	str("GitFilePathPattern", 1, 255, patLine, patLineWhat)

	// Tags, keys, tokens, IDs.
	str("TagKey", 1, 128, "", "")
	str("TagValue", 0, 256, "", "")
	str("EncryptionKeyId", 1, 400, "", "")
	str("ClientRequestToken", 1, 128, `^[a-zA-Z0-9-]+$`, "may only contain letters, digits and -")
	str("ResourceArn", 0, 0, `arn:aws(-[\w]+)*:codepipeline:.+:[0-9]{12}:.+`,
		"must be a CodePipeline ARN (arn:aws:codepipeline:REGION:ACCOUNT:RESOURCE)")
	str("NextToken", 1, 2048, "", "")
	str("PipelineExecutionId", 0, 0, patUUID, patUUIDWhat)
	str("JobId", 0, 0, patUUID, patUUIDWhat)
	str("ApprovalToken", 0, 0, patUUID, patUUIDWhat)
	str("Nonce", 1, 50, "", "")
	str("ApprovalSummary", 0, 512, "", "")
	str("StopPipelineExecutionReason", 0, 200, "", "")
	str("DisabledReason", 1, 300, `[a-zA-Z0-9!@ \(\)\.\*\?\-]+`, "may only contain letters, digits, spaces and ! @ ( ) . * ? -")

	// Action types and jobs.
	str("Url", 1, 2048, "", "")
	str("UrlTemplate", 1, 2048, "", "")
	str("Description", 1, 160, "", "")
	str("Revision", 1, 1500, "", "")
	str("RevisionChangeIdentifier", 1, 100, "", "")
	str("RevisionSummary", 1, 2048, "", "")
	str("ExecutionSummary", 1, 2048, "", "")
	str("ExecutionId", 1, 1500, "", "")
	str("ContinuationToken", 1, 2048, "", "")
	str("Message", 1, 5000, "", "")

	// Lists.
	list("CommandList", 1, 50, "Command")
	list("OutputVariableList", 1, 15, "OutputVariable")
	list("FilePathList", 1, 10, "FilePath")
	list("EnvironmentVariableList", 1, 10, "")
	list("ConditionList", 1, 1, "")
	list("RuleDeclarationList", 1, 5, "")
	list("PipelineVariableDeclarationList", 0, 50, "")
	list("PipelineTriggerDeclarationList", 0, 50, "")
	list("GitPushFilterList", 1, 3, "")
	list("GitPullRequestFilterList", 1, 3, "")
	list("GitTagPatternList", 1, 8, "GitTagNamePattern")
	list("GitBranchPatternList", 1, 8, "GitBranchNamePattern")
	list("GitFilePathPatternList", 1, 8, "GitFilePathPattern")
	list("GitPullRequestEventTypeList", 1, 3, "GitPullRequestEventType")
	list("PipelineVariableList", 1, 50, "")
	list("SourceRevisionOverrideList", 0, 50, "")
	list("ActionConfigurationPropertyList", 0, 10, "")
	list("TagList", 0, 0, "")
	list("TagKeyList", 0, 0, "TagKey")

	// Integers.
	integer("ActionRunOrder", 1, 999)
	integer("ActionTimeout", 5, 86400)
	integer("RuleTimeout", 5, 86400)
	integer("PipelineVersion", 1, 0)
	integer("MaxResults", 1, 100)
	integer("MaxPipelines", 1, 1000)
	integer("MaxBatchSize", 1, 0)
	integer("MinimumArtifactCount", 0, 5)
	integer("MaximumArtifactCount", 0, 5)
	integer("Percentage", 0, 100)

	// Enumerations.
	enum("ActionCategory", "Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute")
	enum("ActionOwner", "AWS", "ThirdParty", "Custom")
	enum("ExecutionMode", "QUEUED", "SUPERSEDED", "PARALLEL")
	enum("PipelineType", "V1", "V2")
	enum("Result", "ROLLBACK", "FAIL", "RETRY", "SKIP")
	enum("StageRetryMode", "FAILED_ACTIONS", "ALL_ACTIONS")
	enum("StageTransitionType", "Inbound", "Outbound")
	enum("ConditionType", "BEFORE_ENTRY", "ON_SUCCESS")
	enum("GitPullRequestEventType", "OPEN", "UPDATED", "CLOSED")
	enum("PipelineTriggerProviderType", "CodeStarSourceConnection")
	enum("ArtifactStoreType", "S3")
	enum("EncryptionKeyType", "KMS")
	enum("EnvironmentVariableType", "PLAINTEXT", "SECRETS_MANAGER")
	enum("RuleCategory", "Rule")
	enum("RuleOwner", "AWS")
	enum("BlockerType", "Schedule")
	enum("ApprovalStatus", "Approved", "Rejected")
	enum("SourceRevisionType", "COMMIT_ID", "IMAGE_DIGEST", "S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY")
	enum("StartTimeRange", "Latest", "All")
	enum("ActionConfigurationPropertyType", "String", "Number", "Boolean")
	enum("FailureType", "JobFailed", "ConfigurationError", "PermissionError", "RevisionOutOfSync", "RevisionUnavailable", "SystemUnavailable")
}
