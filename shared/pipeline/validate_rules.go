package pipeline

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/rules/window"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// The rule types of stage conditions that Stageflow knows, with the
// configuration CodePipeline's rule reference documents for each; rule
// declarations are checked against them. shared/rules shows them as
// ListRuleTypes does and evaluates them.

// Rule providers (owner AWS, category Rule, version 1).
const (
	RuleCategory = "Rule"
	RuleVersion  = "1"

	RuleCloudWatchAlarm  = "CloudWatchAlarm"
	RuleCodeBuild        = "CodeBuild"
	RuleCommands         = "Commands"
	RuleDeploymentWindow = "DeploymentWindow"
	RuleLambdaInvoke     = "LambdaInvoke"
	RuleVariableCheck    = "VariableCheck"
)

// VariableCheck operators.
const (
	OperatorEQ       = "EQ"
	OperatorNE       = "NE"
	OperatorContains = "CONTAINS"
	OperatorMatches  = "MATCHES"
)

// VariableCheckOperators are the operators CodePipeline documents.
var VariableCheckOperators = []string{OperatorEQ, OperatorNE, OperatorContains, OperatorMatches}

// CloudWatchAlarmStates are the alarm states a CloudWatchAlarm rule may watch.
var CloudWatchAlarmStates = []string{"ALARM", "OK", "INSUFFICIENT_DATA"}

// RuleProperty is one configuration property of a rule type.
type RuleProperty struct {
	Name        string
	Required    bool
	Description string
	Type        string // String, Number or Boolean, as ListRuleTypes shows it
	// check returns what is wrong with a value ("" if nothing). It is not
	// applied to values holding a variable reference: those are known only
	// when the rule runs.
	check func(value string, cfg map[string]string) string
}

// RuleTypeDef is a rule type Stageflow knows.
type RuleTypeDef struct {
	Provider    string
	Description string
	Properties  []RuleProperty
	// Commands says the rule runs the declaration's commands (the
	// Commands rule), which it then requires; other rules refuse them.
	Commands bool
	// CheckedKeys says the configuration may hold only Properties; the
	// Commands rule passes other keys through as the Commands action does.
	CheckedKeys bool
	// AllowsSkip says the rule may stand in a beforeEntry condition whose
	// result is SKIP; CodePipeline allows only LambdaInvoke and
	// VariableCheck there.
	AllowsSkip bool
	// NeedsAWS says only an AWS service can evaluate the rule: validation
	// accepts it, and running it fails with a clear message until
	// Stageflow runs it on AWS.
	NeedsAWS bool
	// MaxInputArtifacts is what ListRuleTypes shows as the maximum count
	// of input artifacts.
	MaxInputArtifacts int
}

// RuleTypes are the rule types Stageflow knows, sorted by provider.
var RuleTypes = []RuleTypeDef{
	{
		Provider: RuleCloudWatchAlarm, Description: "Checks the state of an Amazon CloudWatch alarm.",
		CheckedKeys: true, NeedsAWS: true,
		Properties: []RuleProperty{
			{Name: "AlarmName", Required: true, Description: "The name of the CloudWatch alarm."},
			{Name: "AlarmStates", Description: "The alarm states the rule watches (ALARM, OK, INSUFFICIENT_DATA), separated by commas.", check: checkAlarmStates},
			{Name: "WaitTime", Type: "Number", Description: "Minutes to wait for a state change before the rule's result applies.", check: checkMinutes},
		},
	},
	{
		Provider: RuleCodeBuild, Description: "Runs an AWS CodeBuild project; the rule succeeds when the build does.",
		CheckedKeys: true, NeedsAWS: true, MaxInputArtifacts: 5,
		Properties: []RuleProperty{
			{Name: "ProjectName", Required: true, Description: "The name of the CodeBuild project."},
			{Name: "PrimarySource", Description: "The input artifact holding the buildspec; required with more than one input artifact."},
			{Name: "BatchEnabled", Type: "Boolean", Description: "true to run a batch build.", check: checkBool},
			{Name: "CombineArtifacts", Type: "Boolean", Description: "true to combine the artifacts of a batch build.", check: checkBool},
			{Name: "EnvironmentVariables", Description: "A JSON array of environment variables for the build."},
		},
	},
	{
		Provider: RuleCommands, Description: "Runs the rule's shell commands; the rule succeeds when every command does.",
		Commands: true, MaxInputArtifacts: 10,
	},
	{
		Provider: RuleDeploymentWindow, Description: "Succeeds while the current time is inside the window a cron expression describes.",
		CheckedKeys: true,
		Properties: []RuleProperty{
			{Name: "Cron", Required: true, Description: "The days and times deployments are allowed: seconds, minutes, hours, day-of-month, month, day-of-week and an optional year.", check: checkCron},
			{Name: "TimeZone", Description: "The IANA time zone of the window (UTC when absent).", check: checkTimeZone},
		},
	},
	{
		Provider: RuleLambdaInvoke, Description: "Invokes an AWS Lambda function; the rule succeeds when the function reports success.",
		CheckedKeys: true, AllowsSkip: true, NeedsAWS: true, MaxInputArtifacts: 5,
		Properties: []RuleProperty{
			{Name: "FunctionName", Required: true, Description: "The name of the Lambda function."},
			{Name: "UserParameters", Description: "Input for the function."},
		},
	},
	{
		Provider: RuleVariableCheck, Description: "Compares a variable with a value.",
		CheckedKeys: true, AllowsSkip: true,
		Properties: []RuleProperty{
			{Name: "Operator", Required: true, Description: "EQ, NE, CONTAINS or MATCHES (a regular expression).", check: checkOperator},
			{Name: "Value", Required: true, Description: "The value to compare the variable with.", check: checkMatchesValue},
			{Name: "Variable", Required: true, Description: "The variable to check, e.g. #{SourceVariables.BranchName}."},
		},
	},
}

// LookupRuleType returns the rule type of a provider.
func LookupRuleType(provider string) (*RuleTypeDef, bool) {
	for i := range RuleTypes {
		if RuleTypes[i].Provider == provider {
			return &RuleTypes[i], true
		}
	}
	return nil, false
}

func ruleProviders() []string {
	out := make([]string, len(RuleTypes))
	for i, t := range RuleTypes {
		out[i] = t.Provider
	}
	return out
}

// ruleType checks a rule against its type. It reports whether the provider
// is known.
func (v *validator) ruleType(path string, r *Rule) (*RuleTypeDef, bool) {
	t := r.RuleTypeID
	if t.Provider == "" || shRuleProvider.CheckString(t.Provider) != "" {
		return nil, false
	}
	def, ok := LookupRuleType(t.Provider)
	if !ok {
		v.add(path+".ruleTypeId.provider", "unknown rule provider %q (Stageflow knows %s)%s", t.Provider, strings.Join(ruleProviders(), ", "), strictjson.Suggest(t.Provider, ruleProviders()))
		return nil, false
	}
	if t.Version != "" && shVersion.CheckString(t.Version) == "" && t.Version != RuleVersion {
		v.add(path+".ruleTypeId.version", "rule %s has only version %s, not %q", t.Provider, RuleVersion, t.Version)
	}
	switch {
	case def.Commands && r.Commands == nil: // an empty list is a count problem
		v.add(path+".commands", "a Commands rule needs at least one command")
	case !def.Commands && r.Commands != nil:
		v.add(path+".commands", "only a Commands rule runs commands; a %s rule takes none", t.Provider)
	}
	names := make([]string, len(def.Properties))
	for i, p := range def.Properties {
		names[i] = p.Name
		value, given := r.Configuration[p.Name]
		kpath := path + ".configuration." + p.Name
		switch {
		case !given && p.Required:
			v.add(kpath, "is required by a %s rule", t.Provider)
		case given && p.check != nil && !hasRef(value):
			v.problem(kpath, p.check(value, r.Configuration))
		}
	}
	if def.CheckedKeys {
		for _, k := range slices.Sorted(maps.Keys(r.Configuration)) {
			if shRuleCfgKey.CheckKey(k) == "" && !slices.Contains(names, k) {
				v.add(path+".configuration."+k, "unknown configuration key %q of a %s rule (it has %s)%s", k, t.Provider, strings.Join(names, ", "), strictjson.Suggest(k, names))
			}
		}
	}
	return def, true
}

// hasRef reports whether a value holds a variable reference.
func hasRef(s string) bool {
	refs, bad := scanRefs(s)
	return len(refs) > 0 || len(bad) > 0
}

func checkAlarmStates(value string, _ map[string]string) string {
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); !slices.Contains(CloudWatchAlarmStates, s) {
			return fmt.Sprintf("unknown alarm state %q (one of %s, separated by commas)", s, strings.Join(CloudWatchAlarmStates, ", "))
		}
	}
	return ""
}

func checkMinutes(value string, _ map[string]string) string {
	if n, err := strconv.Atoi(value); err != nil || n < 0 {
		return fmt.Sprintf("%q is not a number of minutes (a whole number, 0 or more)", value)
	}
	return ""
}

func checkBool(value string, _ map[string]string) string {
	if value != "true" && value != "false" {
		return fmt.Sprintf("%q is not true or false", value)
	}
	return ""
}

// checkCron checks the expression alone: TimeZone is checked by itself.
func checkCron(value string, _ map[string]string) string {
	if _, err := window.Parse(value, ""); err != nil {
		return err.Error()
	}
	return ""
}

func checkTimeZone(value string, _ map[string]string) string {
	if _, err := window.LoadZone(value); err != nil {
		return err.Error()
	}
	return ""
}

func checkOperator(value string, _ map[string]string) string {
	if !slices.Contains(VariableCheckOperators, value) {
		return fmt.Sprintf("unknown operator %q (one of %s)%s", value, strings.Join(VariableCheckOperators, ", "), strictjson.Suggest(value, VariableCheckOperators))
	}
	return ""
}

func checkMatchesValue(value string, cfg map[string]string) string {
	if cfg["Operator"] != OperatorMatches {
		return ""
	}
	if _, err := regexp.Compile(value); err != nil {
		return fmt.Sprintf("is not a regular expression Stageflow can match (Go's RE2 syntax): %v", err)
	}
	return ""
}
