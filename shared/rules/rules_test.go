package rules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
)

func rule(provider string, cfg map[string]string) *pipeline.Rule {
	return &pipeline.Rule{Name: "R", RuleTypeID: pipeline.RuleTypeID{Category: "Rule", Owner: "AWS", Provider: provider, Version: "1"}, Configuration: cfg}
}

var vars = map[string]string{"SourceVars.BranchName": "release/1.2", "variables.Env": "prod"}

func lookup(ns, name string) (string, bool) {
	v, ok := vars[ns+"."+name]
	return v, ok
}

// wednesday is 2026-12-02 10:30 UTC, a Wednesday.
var wednesday = time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)

func TestEvaluate(t *testing.T) {
	vc := func(op, value string) *pipeline.Rule {
		return rule(pipeline.RuleVariableCheck, map[string]string{"Operator": op, "Variable": "#{SourceVars.BranchName}", "Value": value})
	}
	dw := func(cron, zone string) *pipeline.Rule {
		return rule(pipeline.RuleDeploymentWindow, map[string]string{"Cron": cron, "TimeZone": zone})
	}
	tests := []struct {
		name      string
		rule      *pipeline.Rule
		now       time.Time
		want      Status
		summary   string
		recheckAt time.Time
	}{
		{"EQ holds", vc("EQ", "release/1.2"), wednesday, Succeeded, `#{SourceVars.BranchName} is "release/1.2": EQ "release/1.2" holds`, time.Time{}},
		{"EQ fails", vc("EQ", "main"), wednesday, Failed, `EQ "main" does not hold`, time.Time{}},
		{"NE holds", vc("NE", "main"), wednesday, Succeeded, "holds", time.Time{}},
		{"NE fails", vc("NE", "release/1.2"), wednesday, Failed, "does not hold", time.Time{}},
		{"CONTAINS holds", vc("CONTAINS", "ease/"), wednesday, Succeeded, "holds", time.Time{}},
		{"CONTAINS fails", vc("CONTAINS", "hotfix"), wednesday, Failed, "does not hold", time.Time{}},
		{"MATCHES whole string", vc("MATCHES", `release/\d+\.\d+`), wednesday, Succeeded, "holds", time.Time{}},
		{"MATCHES is not a substring search", vc("MATCHES", `\d+\.\d+`), wednesday, Failed, "does not hold", time.Time{}},
		{"value from a variable", vc("CONTAINS", "#{variables.Env}"), wednesday, Failed, `CONTAINS "prod" does not hold`, time.Time{}},
		{"unknown variable", rule(pipeline.RuleVariableCheck, map[string]string{"Operator": "EQ", "Variable": "#{Build.Nope}", "Value": "x"}), wednesday, Failed, "Variable:", time.Time{}},

		{"window open", dw("* * 9-16 ? * MON-FRI", ""), wednesday, Succeeded, "2026-12-02 10:30:00 UTC is inside the deployment window", time.Time{}},
		{"window closed until the evening", dw("* * 18-20 ? * MON-FRI", ""), wednesday, InProgress, "it opens at 2026-12-02 18:00:00 UTC", time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)},
		{"window in another zone", dw("* * 9-16 ? * MON-FRI", "America/New_York"), wednesday, InProgress, "05:30:00 EST is outside", time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)},
		{"window never opens again", dw("* * * * * ? 2025", ""), wednesday, Failed, "never opens again", time.Time{}},

		{"CloudWatchAlarm needs AWS", rule(pipeline.RuleCloudWatchAlarm, map[string]string{"AlarmName": "a"}), wednesday, Failed, "Stageflow cannot evaluate CloudWatchAlarm rules yet: they need Amazon CloudWatch", time.Time{}},
		{"LambdaInvoke needs AWS", rule(pipeline.RuleLambdaInvoke, map[string]string{"FunctionName": "f"}), wednesday, Failed, "they need AWS Lambda", time.Time{}},
		{"CodeBuild needs AWS", rule(pipeline.RuleCodeBuild, map[string]string{"ProjectName": "p"}), wednesday, Failed, "they need AWS CodeBuild", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Evaluate(tt.rule, tt.now, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != tt.want || !strings.Contains(out.Summary, tt.summary) || !out.RecheckAt.Equal(tt.recheckAt) {
				t.Errorf("got %s %q recheck %s; want %s …%s… recheck %s", out.Status, out.Summary, out.RecheckAt, tt.want, tt.summary, tt.recheckAt)
			}
		})
	}
}

func TestEvaluateResolvesConfiguration(t *testing.T) {
	out, err := Evaluate(rule(pipeline.RuleVariableCheck, map[string]string{"Operator": "EQ", "Variable": "#{SourceVars.BranchName}", "Value": "x"}), wednesday, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.ResolvedConfiguration["Variable"]; got != "release/1.2" {
		t.Errorf("resolved Variable = %q", got)
	}
}

func TestCommandsRule(t *testing.T) {
	r := &pipeline.Rule{Name: "Smoke", RuleTypeID: pipeline.RuleTypeID{Category: "Rule", Provider: pipeline.RuleCommands},
		Commands: []string{"test -f Bundle/ok"}, InputArtifacts: []pipeline.InputArtifact{{Name: "Bundle"}}, Region: "eu-west-1"}
	if _, err := Evaluate(r, wednesday, lookup); !errors.Is(err, ErrRunsAsAction) {
		t.Fatalf("Evaluate on a Commands rule: %v, want ErrRunsAsAction", err)
	}
	if !RunsAsAction(r) || RunsAsAction(rule(pipeline.RuleVariableCheck, nil)) {
		t.Fatal("RunsAsAction is wrong")
	}
	a := CommandsAction(r)
	if a.Name != "Smoke" || a.ActionTypeID.Provider != pipeline.ProviderCommands || a.ActionTypeID.Owner != pipeline.OwnerAWS ||
		len(a.Commands) != 1 || a.Commands[0] != "test -f Bundle/ok" || len(a.InputArtifacts) != 1 || a.InputArtifacts[0].Name != "Bundle" ||
		a.Region != "eu-west-1" || a.TimeoutInMinutes == nil || *a.TimeoutInMinutes != CommandsTimeoutMinutes || a.OutputArtifacts != nil {
		t.Fatalf("CommandsAction = %+v", a)
	}
	// The action is a copy: changing it leaves the rule alone.
	a.Commands[0] = "rm -rf /"
	if r.Commands[0] != "test -f Bundle/ok" {
		t.Fatal("CommandsAction shares the rule's commands")
	}
	ten := 10
	r.TimeoutInMinutes = &ten
	if got := *CommandsAction(r).TimeoutInMinutes; got != 10 {
		t.Errorf("timeout = %d, want the rule's 10", got)
	}
	// The action it gives is a valid Commands action.
	p := &pipeline.Pipeline{Name: "p", PipelineType: pipeline.TypeV2, Stages: []pipeline.Stage{
		{Name: "S", Actions: []pipeline.Action{{Name: "Src", ActionTypeID: pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: "S3", Version: "1"}, OutputArtifacts: []pipeline.OutputArtifact{{Name: "Bundle"}}}}},
		{Name: "T", Actions: []pipeline.Action{CommandsAction(r)}},
	}}
	if problems := pipeline.Validate(p); len(problems) > 0 {
		t.Errorf("CommandsAction gives an invalid action: %v", problems)
	}
}

func TestCatalogue(t *testing.T) {
	types := Catalogue()
	var providers []string
	for _, rt := range types {
		providers = append(providers, rt.ID.Provider)
		if rt.ID.Category != "Rule" || rt.ID.Owner != "AWS" || rt.ID.Version != "1" {
			t.Errorf("%s: id %+v", rt.ID.Provider, rt.ID)
		}
	}
	if got := strings.Join(providers, ","); got != "CloudWatchAlarm,CodeBuild,Commands,DeploymentWindow,LambdaInvoke,VariableCheck" {
		t.Errorf("providers %s", got)
	}
	vc := types[5]
	var names []string
	for _, p := range vc.RuleConfigurationProperties {
		names = append(names, p.Name)
		if !p.Required || p.Type != "String" {
			t.Errorf("VariableCheck %s: %+v", p.Name, p)
		}
	}
	if strings.Join(names, ",") != "Operator,Value,Variable" {
		t.Errorf("VariableCheck properties %v", names)
	}
	if w := types[0].RuleConfigurationProperties[2]; w.Name != "WaitTime" || w.Type != "Number" || w.Required {
		t.Errorf("CloudWatchAlarm WaitTime %+v", w)
	}
}

func TestCombine(t *testing.T) {
	later := wednesday.Add(time.Hour)
	soon := wednesday.Add(time.Minute)
	ok := Outcome{Status: Succeeded, Summary: "ok"}
	tests := []struct {
		name    string
		in      []Outcome
		want    Status
		summary string
		recheck time.Time
	}{
		{"all succeeded", []Outcome{ok, ok}, Succeeded, "every rule succeeded", time.Time{}},
		{"one failed", []Outcome{ok, {Status: Failed, Summary: "no"}, {Status: InProgress, RecheckAt: soon}}, Failed, "no", time.Time{}},
		{"waiting: the earliest recheck", []Outcome{{Status: InProgress, Summary: "a", RecheckAt: later}, ok, {Status: InProgress, Summary: "b", RecheckAt: soon}}, InProgress, "b", soon},
		{"a run in progress and a window", []Outcome{{Status: InProgress, Summary: "running"}, {Status: InProgress, Summary: "w", RecheckAt: later}}, InProgress, "w", later},
	}
	for _, tt := range tests {
		got := Combine(tt.in)
		if got.Status != tt.want || got.Summary != tt.summary || !got.RecheckAt.Equal(tt.recheck) {
			t.Errorf("%s: got %+v", tt.name, got)
		}
	}
}
