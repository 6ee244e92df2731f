// Package rules holds what the engine needs to run the rules of stage
// conditions, and the rule types as ListRuleTypes shows them. It is pure:
// no clock, no store, no process; the caller passes the time and a lookup
// of variables.
//
// How the engine uses it, for each rule of a condition:
//
//   - Commands rules run as actions: RunsAsAction says so, and
//     CommandsAction turns the rule into the Commands action the commands
//     provider runs (same working directory, input artifacts, environment
//     and refusals as a Commands action). The rule succeeds when that
//     action succeeds.
//   - Every other rule goes to Evaluate, which answers Succeeded, Failed
//     (with a summary saying why) or InProgress with the moment to look
//     again (a DeploymentWindow that is closed now: CodePipeline holds the
//     rule until the window opens). The engine parks the execution until
//     then — a timer, not a poll — and evaluates again.
//   - CloudWatchAlarm, LambdaInvoke and CodeBuild rules need AWS services;
//     Evaluate fails them with a message saying so.
//
// A condition is met when every rule succeeds; its result (see
// pipeline.Condition.EffectiveResult) applies when one fails.
package rules

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/rules/window"
)

// Status is the state of a rule evaluation, as ListRuleExecutions names it.
type Status string

// Statuses.
const (
	Succeeded  Status = "Succeeded"
	Failed     Status = "Failed"
	InProgress Status = "InProgress"
)

// Outcome is what evaluating a rule gives.
type Outcome struct {
	Status Status
	// Summary says why, in a sentence (a rule execution's
	// externalExecutionSummary).
	Summary string
	// RecheckAt, for InProgress, is when to evaluate the rule again.
	RecheckAt time.Time
	// ResolvedConfiguration is the rule's configuration with its variable
	// references replaced (a rule execution's resolvedConfiguration); nil
	// when a reference could not be resolved.
	ResolvedConfiguration map[string]string
}

// Lookup gives the value of the variable #{namespace.name}, as
// pipeline.Substitute takes it.
type Lookup func(namespace, name string) (string, bool)

// ErrRunsAsAction is Evaluate's answer for a Commands rule: run
// CommandsAction instead.
var ErrRunsAsAction = errors.New("a Commands rule runs as a Commands action: use CommandsAction")

// Evaluate evaluates a rule at now. The rule must have passed
// pipeline.Validate.
func Evaluate(r *pipeline.Rule, now time.Time, lookup Lookup) (Outcome, error) {
	def, ok := pipeline.LookupRuleType(r.RuleTypeID.Provider)
	if !ok {
		return Outcome{}, fmt.Errorf("unknown rule provider %q", r.RuleTypeID.Provider)
	}
	if def.Commands {
		return Outcome{}, ErrRunsAsAction
	}
	cfg, err := resolve(r.Configuration, lookup)
	if err != nil {
		return Outcome{Status: Failed, Summary: fmt.Sprintf("rule %s: %v", r.Name, err)}, nil
	}
	var out Outcome
	switch {
	case def.NeedsAWS:
		out = Outcome{Status: Failed, Summary: needsAWS(def.Provider)}
	case def.Provider == pipeline.RuleVariableCheck:
		out = variableCheck(r, cfg)
	case def.Provider == pipeline.RuleDeploymentWindow:
		out = deploymentWindow(cfg, now)
	default:
		return Outcome{}, fmt.Errorf("rule provider %s has no evaluator", def.Provider)
	}
	out.ResolvedConfiguration = cfg
	return out, nil
}

// RunsAsAction reports whether a rule is run as an action (Commands).
func RunsAsAction(r *pipeline.Rule) bool {
	def, ok := pipeline.LookupRuleType(r.RuleTypeID.Provider)
	return ok && def.Commands
}

// CommandsTimeoutMinutes is a Commands rule's timeout when it declares
// none: CodePipeline's Commands rule runs at most 55 minutes.
const CommandsTimeoutMinutes = 55

// CommandsAction is the Commands action that runs a Commands rule: the
// rule's name, commands, input artifacts, configuration, region and
// timeout (CommandsTimeoutMinutes when absent). It declares no outputs:
// a rule produces no artifacts or variables.
func CommandsAction(r *pipeline.Rule) pipeline.Action {
	timeout := r.TimeoutInMinutes
	if timeout == nil {
		n := CommandsTimeoutMinutes
		timeout = &n
	}
	cfg := maps.Clone(r.Configuration)
	return pipeline.Action{
		Name:             r.Name,
		ActionTypeID:     pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: pipeline.ProviderCommands, Version: "1"},
		Commands:         append([]string(nil), r.Commands...),
		InputArtifacts:   append([]pipeline.InputArtifact(nil), r.InputArtifacts...),
		Configuration:    cfg,
		Region:           r.Region,
		TimeoutInMinutes: timeout,
	}
}

func needsAWS(provider string) string {
	service := map[string]string{
		pipeline.RuleCloudWatchAlarm: "Amazon CloudWatch",
		pipeline.RuleLambdaInvoke:    "AWS Lambda",
		pipeline.RuleCodeBuild:       "AWS CodeBuild",
	}[provider]
	return fmt.Sprintf("Stageflow cannot evaluate %s rules yet: they need %s, which Stageflow does not call until its AWS actions are built; the rule fails", provider, service)
}

// resolve replaces the variable references in a configuration.
func resolve(cfg map[string]string, lookup Lookup) (map[string]string, error) {
	out := make(map[string]string, len(cfg))
	var problems []string
	for k, v := range cfg {
		s, err := pipeline.Substitute(v, lookup)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		out[k] = s
	}
	if problems != nil {
		return nil, errors.New(strings.Join(slices.Sorted(slices.Values(problems)), "; "))
	}
	return out, nil
}

// variableCheck compares the resolved variable with the value. MATCHES is
// a whole-string match of the value as a regular expression (RE2 syntax),
// as Java's Pattern.matches, which CodePipeline's regular expressions
// follow, is.
func variableCheck(r *pipeline.Rule, cfg map[string]string) Outcome {
	variable, value, op := cfg["Variable"], cfg["Value"], cfg["Operator"]
	var met bool
	switch op {
	case pipeline.OperatorEQ:
		met = variable == value
	case pipeline.OperatorNE:
		met = variable != value
	case pipeline.OperatorContains:
		met = strings.Contains(variable, value)
	case pipeline.OperatorMatches:
		re, err := regexp.Compile(`^(?:` + value + `)$`)
		if err != nil {
			return Outcome{Status: Failed, Summary: fmt.Sprintf("the value %q is not a regular expression: %v", value, err)}
		}
		met = re.MatchString(variable)
	default:
		return Outcome{Status: Failed, Summary: fmt.Sprintf("unknown operator %q", op)}
	}
	what := fmt.Sprintf("%s is %q", r.Configuration["Variable"], variable)
	if met {
		return Outcome{Status: Succeeded, Summary: fmt.Sprintf("%s: %s %q holds", what, op, value)}
	}
	return Outcome{Status: Failed, Summary: fmt.Sprintf("%s: %s %q does not hold", what, op, value)}
}

// deploymentWindow succeeds inside the window and waits for it to open
// otherwise; it fails when the window never opens again.
func deploymentWindow(cfg map[string]string, now time.Time) Outcome {
	w, err := window.Parse(cfg["Cron"], cfg["TimeZone"])
	if err != nil {
		return Outcome{Status: Failed, Summary: err.Error()}
	}
	local := now.In(w.Zone()).Format("2006-01-02 15:04:05 MST")
	if w.Contains(now) {
		return Outcome{Status: Succeeded, Summary: fmt.Sprintf("%s is inside the deployment window %q", local, cfg["Cron"])}
	}
	next, ok := w.NextOpen(now)
	if !ok {
		return Outcome{Status: Failed, Summary: fmt.Sprintf("the deployment window %q never opens again after %s", cfg["Cron"], local)}
	}
	return Outcome{Status: InProgress, RecheckAt: next,
		Summary: fmt.Sprintf("%s is outside the deployment window %q; it opens at %s", local, cfg["Cron"], next.Format("2006-01-02 15:04:05 MST"))}
}

// Combine gives a condition's state from its rules' outcomes, in rule
// order: Failed as soon as one rule failed (its summary; CodePipeline's
// rules are evaluated together, so one failure fails the condition),
// Succeeded when every rule succeeded, else InProgress with the earliest
// moment a waiting rule asks to be evaluated again (zero when the rules in
// progress are runs the caller waits for, such as a Commands action).
func Combine(outcomes []Outcome) Outcome {
	out := Outcome{Status: Succeeded, Summary: "every rule succeeded"}
	for _, o := range outcomes {
		switch o.Status {
		case Failed:
			return Outcome{Status: Failed, Summary: o.Summary}
		case InProgress:
			if out.Status != InProgress {
				out = Outcome{Status: InProgress, Summary: o.Summary, RecheckAt: o.RecheckAt}
			} else if !o.RecheckAt.IsZero() && (out.RecheckAt.IsZero() || o.RecheckAt.Before(out.RecheckAt)) {
				out.RecheckAt, out.Summary = o.RecheckAt, o.Summary
			}
		}
	}
	return out
}
