package pipeline

import "testing"

// ruleOf builds a rule of a provider with a configuration.
func ruleOf(name, provider string, cfg map[string]string) Rule {
	return Rule{Name: name, RuleTypeID: RuleTypeID{Category: RuleCategory, Owner: OwnerAWS, Provider: provider, Version: RuleVersion}, Configuration: cfg}
}

// The results each kind of condition accepts, as CodePipeline's
// stage-conditions and stage-retry pages document them, and the rollback
// refusal in PARALLEL pipelines. The base document is v2-full.json: stage 1
// (Build) has a beforeEntry VariableCheck condition and onFailure RETRY,
// stage 2 (Deploy) an onSuccess Commands condition.
func TestConditionResults(t *testing.T) {
	be := func(p *Pipeline) *Condition { return &p.Stages[1].BeforeEntry.Conditions[0] }
	os := func(p *Pipeline) *Condition { return &p.Stages[2].OnSuccess.Conditions[0] }
	const bp = "stages[1].beforeEntry.conditions[0]"
	const sp = "stages[2].onSuccess.conditions[0]"
	const fp = "stages[1].onFailure"
	lambda := ruleOf("Fn", RuleLambdaInvoke, map[string]string{"FunctionName": "check"})
	alarm := ruleOf("Alarm", RuleCloudWatchAlarm, map[string]string{"AlarmName": "prod-5xx"})
	onFailure := func(f FailureConditions) func(p *Pipeline) { return func(p *Pipeline) { p.Stages[1].OnFailure = &f } }
	parallel := func(mutate func(p *Pipeline)) func(p *Pipeline) {
		return func(p *Pipeline) { p.ExecutionMode = ModeParallel; mutate(p) }
	}
	runRuleCases(t, []ruleCase{
		// beforeEntry: FAIL or SKIP; SKIP only with LambdaInvoke and VariableCheck rules.
		{name: "entry FAIL", mutate: func(p *Pipeline) { be(p).Result = ResultFail }},
		{name: "entry without result", mutate: func(p *Pipeline) { be(p).Result = "" }},
		{name: "entry SKIP with VariableCheck", mutate: func(p *Pipeline) { be(p).Result = ResultSkip }},
		{name: "entry SKIP with LambdaInvoke", mutate: func(p *Pipeline) {
			be(p).Result = ResultSkip
			be(p).Rules = append(be(p).Rules, lambda)
		}},
		{name: "entry SKIP with CloudWatchAlarm", mutate: func(p *Pipeline) {
			be(p).Result = ResultSkip
			be(p).Rules = append(be(p).Rules, alarm)
		}, path: bp + ".rules[1].ruleTypeId.provider", msg: "a CloudWatchAlarm rule cannot stand in a condition whose result is SKIP: only LambdaInvoke and VariableCheck rules can"},
		{name: "entry SKIP with Commands", mutate: func(p *Pipeline) {
			be(p).Result = ResultSkip
			be(p).Rules = []Rule{{Name: "Sh", RuleTypeID: RuleTypeID{Category: RuleCategory, Provider: RuleCommands}, Commands: []string{"true"}}}
		}, path: bp + ".rules[0].ruleTypeId.provider", msg: "a Commands rule cannot stand in a condition whose result is SKIP"},
		{name: "entry ROLLBACK", mutate: func(p *Pipeline) { be(p).Result = ResultRollback }, path: bp + ".result", msg: "ROLLBACK is not a result of a beforeEntry condition (allowed: FAIL, SKIP)"},
		{name: "entry RETRY", mutate: func(p *Pipeline) { be(p).Result = ResultRetry }, path: bp + ".result", msg: "RETRY is not a result of a beforeEntry condition"},

		// onSuccess: ROLLBACK or FAIL.
		{name: "success FAIL", mutate: func(p *Pipeline) { os(p).Result = ResultFail }},
		{name: "success ROLLBACK", mutate: func(p *Pipeline) { os(p).Result = ResultRollback }},
		{name: "success SKIP", mutate: func(p *Pipeline) { os(p).Result = ResultSkip }, path: sp + ".result", msg: "SKIP is not a result of an onSuccess condition (allowed: ROLLBACK, FAIL)"},
		{name: "success RETRY", mutate: func(p *Pipeline) { os(p).Result = ResultRetry }, path: sp + ".result", msg: "RETRY is not a result of an onSuccess condition"},

		// onFailure: result ROLLBACK or RETRY; conditions ROLLBACK; retry alone.
		{name: "failure RETRY ALL_ACTIONS", mutate: onFailure(FailureConditions{Result: ResultRetry, RetryConfiguration: &RetryConfiguration{RetryMode: RetryAllActions}})},
		{name: "failure RETRY without mode", mutate: onFailure(FailureConditions{Result: ResultRetry})},
		{name: "failure ROLLBACK", mutate: onFailure(FailureConditions{Result: ResultRollback})},
		{name: "failure ROLLBACK with condition", mutate: onFailure(FailureConditions{Result: ResultRollback, Conditions: []Condition{{Result: ResultRollback, Rules: []Rule{alarm}}}})},
		{name: "failure condition without result", mutate: onFailure(FailureConditions{Conditions: []Condition{{Rules: []Rule{alarm}}}})},
		{name: "failure FAIL", mutate: onFailure(FailureConditions{Result: ResultFail}), path: fp + ".result", msg: "FAIL is not a result of onFailure (allowed: ROLLBACK, RETRY)"},
		{name: "failure SKIP", mutate: onFailure(FailureConditions{Result: ResultSkip}), path: fp + ".result", msg: "SKIP is not a result of onFailure"},
		{name: "failure condition FAIL", mutate: onFailure(FailureConditions{Conditions: []Condition{{Result: ResultFail, Rules: []Rule{alarm}}}}),
			path: fp + ".conditions[0].result", msg: "FAIL is not a result of an onFailure condition (allowed: ROLLBACK)"},
		{name: "failure retryConfiguration without RETRY", mutate: onFailure(FailureConditions{Result: ResultRollback, RetryConfiguration: &RetryConfiguration{RetryMode: RetryFailedActions}}),
			path: fp + ".retryConfiguration", msg: "applies only to automatic retry"},
		{name: "failure RETRY with conditions", mutate: onFailure(FailureConditions{Result: ResultRetry, Conditions: []Condition{{Result: ResultRollback, Rules: []Rule{alarm}}}}),
			path: fp + ".conditions", msg: "automatic stage retry (result RETRY) cannot be combined with onFailure conditions"},

		// No rollback in PARALLEL pipelines; the rest stays allowed there.
		{name: "parallel entry and retry", mutate: parallel(func(p *Pipeline) {})},
		{name: "parallel success ROLLBACK", mutate: parallel(func(p *Pipeline) { os(p).Result = ResultRollback }),
			path: sp + ".result", msg: "an onSuccess condition with result ROLLBACK is not allowed: stages of a PARALLEL pipeline cannot be rolled back"},
		{name: "parallel failure ROLLBACK", mutate: parallel(onFailure(FailureConditions{Result: ResultRollback})),
			path: fp + ".result", msg: "onFailure result ROLLBACK is not allowed: stages of a PARALLEL pipeline cannot be rolled back"},
		{name: "parallel failure condition defaults to ROLLBACK", mutate: parallel(onFailure(FailureConditions{Conditions: []Condition{{Rules: []Rule{alarm}}}})),
			path: fp + ".conditions[0].result", msg: "PARALLEL pipeline cannot be rolled back"},
		{name: "queued success ROLLBACK", mutate: func(p *Pipeline) { p.ExecutionMode = ModeQueued; os(p).Result = ResultRollback }},

		{name: "condition without rules", mutate: func(p *Pipeline) { be(p).Rules = nil }, path: bp + ".rules", msg: "a condition needs at least one rule"},
	})
}

// Each rule type's configuration, as CodePipeline's rule reference
// documents it.
func TestRuleConfiguration(t *testing.T) {
	const rp = "stages[1].beforeEntry.conditions[0].rules[0]"
	with := func(r Rule) func(p *Pipeline) {
		return func(p *Pipeline) { p.Stages[1].BeforeEntry.Conditions[0].Rules = []Rule{r} }
	}
	vc := func(op, value string) Rule {
		return ruleOf("V", RuleVariableCheck, map[string]string{"Operator": op, "Variable": "#{SourceVars.BranchName}", "Value": value})
	}
	dw := func(cron, zone string) Rule {
		cfg := map[string]string{"Cron": cron}
		if zone != "" {
			cfg["TimeZone"] = zone
		}
		return ruleOf("W", RuleDeploymentWindow, cfg)
	}
	runRuleCases(t, []ruleCase{
		{name: "unknown provider", mutate: with(ruleOf("X", "VariableChek", nil)), path: rp + ".ruleTypeId.provider", msg: `unknown rule provider "VariableChek" (Stageflow knows CloudWatchAlarm, CodeBuild, Commands, DeploymentWindow, LambdaInvoke, VariableCheck) (did you mean "VariableCheck"?)`},
		{name: "version 2", mutate: func(p *Pipeline) { r := vc("EQ", "main"); r.RuleTypeID.Version = "2"; with(r)(p) }, path: rp + ".ruleTypeId.version", msg: `rule VariableCheck has only version 1, not "2"`},

		{name: "VariableCheck EQ", mutate: with(vc("EQ", "main"))},
		{name: "VariableCheck NE", mutate: with(vc("NE", "main"))},
		{name: "VariableCheck CONTAINS", mutate: with(vc("CONTAINS", "mai"))},
		{name: "VariableCheck MATCHES", mutate: with(vc("MATCHES", "^release/.*$"))},
		{name: "VariableCheck MATCHES bad regex", mutate: with(vc("MATCHES", "release/(")), path: rp + ".configuration.Value", msg: "is not a regular expression Stageflow can match"},
		{name: "VariableCheck MATCHES regex from a variable", mutate: with(vc("MATCHES", "#{variables.Env}("))},
		{name: "VariableCheck GT", mutate: with(vc("GT", "1")), path: rp + ".configuration.Operator", msg: `unknown operator "GT" (one of EQ, NE, CONTAINS, MATCHES)`},
		{name: "VariableCheck operator missing", mutate: with(ruleOf("V", RuleVariableCheck, map[string]string{"Variable": "#{variables.Env}", "Value": "x"})), path: rp + ".configuration.Operator", msg: "is required by a VariableCheck rule"},
		{name: "VariableCheck unknown key", mutate: func(p *Pipeline) { r := vc("EQ", "x"); r.Configuration["Varaible"] = "y"; with(r)(p) }, path: rp + ".configuration.Varaible", msg: `unknown configuration key "Varaible" of a VariableCheck rule (it has Operator, Value, Variable) (did you mean "Variable"?)`},
		{name: "VariableCheck with commands", mutate: func(p *Pipeline) { r := vc("EQ", "x"); r.Commands = []string{"true"}; with(r)(p) }, path: rp + ".commands", msg: "only a Commands rule runs commands"},

		{name: "DeploymentWindow", mutate: with(dw("* * 9-16 ? * MON-FRI", ""))},
		{name: "DeploymentWindow zone and year", mutate: with(dw("* 0-30 9 ? * 2-6 2026-2030", "Europe/Berlin"))},
		{name: "DeploymentWindow bad cron", mutate: with(dw("* * 25 ? * *", "")), path: rp + ".configuration.Cron", msg: "cron expression"},
		{name: "DeploymentWindow five fields", mutate: with(dw("0 9 * * 1", "")), path: rp + ".configuration.Cron", msg: "must have 6 fields"},
		{name: "DeploymentWindow L", mutate: with(dw("* * * L * ?", "")), path: rp + ".configuration.Cron", msg: "not supported by Stageflow"},
		{name: "DeploymentWindow bad zone", mutate: with(dw("* * * * * ?", "Nowhere/City")), path: rp + ".configuration.TimeZone", msg: `unknown time zone "Nowhere/City"`},
		{name: "DeploymentWindow bad cron and bad zone", mutate: with(dw("* * 25 ? * *", "Nowhere/City")), path: rp + ".configuration.Cron", msg: "cron expression", many: true},
		{name: "DeploymentWindow no cron", mutate: with(ruleOf("W", RuleDeploymentWindow, map[string]string{})), path: rp + ".configuration.Cron", msg: "is required by a DeploymentWindow rule"},

		{name: "CloudWatchAlarm", mutate: with(ruleOf("A", RuleCloudWatchAlarm, map[string]string{"AlarmName": "a", "AlarmStates": "ALARM, INSUFFICIENT_DATA", "WaitTime": "20"}))},
		{name: "CloudWatchAlarm bad state", mutate: with(ruleOf("A", RuleCloudWatchAlarm, map[string]string{"AlarmName": "a", "AlarmStates": "RED"})), path: rp + ".configuration.AlarmStates", msg: `unknown alarm state "RED"`},
		{name: "CloudWatchAlarm bad wait", mutate: with(ruleOf("A", RuleCloudWatchAlarm, map[string]string{"AlarmName": "a", "WaitTime": "5m"})), path: rp + ".configuration.WaitTime", msg: "is not a number of minutes"},
		{name: "CloudWatchAlarm no name", mutate: with(ruleOf("A", RuleCloudWatchAlarm, map[string]string{})), path: rp + ".configuration.AlarmName", msg: "is required by a CloudWatchAlarm rule"},

		{name: "LambdaInvoke", mutate: with(ruleOf("L", RuleLambdaInvoke, map[string]string{"FunctionName": "f", "UserParameters": "x=1"}))},
		{name: "LambdaInvoke no function", mutate: with(ruleOf("L", RuleLambdaInvoke, nil)), path: rp + ".configuration.FunctionName", msg: "is required by a LambdaInvoke rule"},
		{name: "CodeBuild", mutate: with(ruleOf("B", RuleCodeBuild, map[string]string{"ProjectName": "p", "BatchEnabled": "true"}))},
		{name: "CodeBuild bad bool", mutate: with(ruleOf("B", RuleCodeBuild, map[string]string{"ProjectName": "p", "BatchEnabled": "yes"})), path: rp + ".configuration.BatchEnabled", msg: `"yes" is not true or false`},

		{name: "Commands", mutate: with(Rule{Name: "C", RuleTypeID: RuleTypeID{Category: RuleCategory, Provider: RuleCommands}, Commands: []string{"test -f Src/ok"}, InputArtifacts: []InputArtifact{{Name: "Src"}}})},
		{name: "Commands without commands", mutate: with(Rule{Name: "C", RuleTypeID: RuleTypeID{Category: RuleCategory, Provider: RuleCommands}}), path: rp + ".commands", msg: "a Commands rule needs at least one command"},
	})
}

func TestEffectiveResultsAndRetry(t *testing.T) {
	for _, tc := range []struct {
		kind ConditionKind
		c    Condition
		want string
	}{
		{ConditionBeforeEntry, Condition{}, ResultFail},
		{ConditionBeforeEntry, Condition{Result: ResultSkip}, ResultSkip},
		{ConditionOnSuccess, Condition{}, ResultFail},
		{ConditionOnFailure, Condition{}, ResultRollback},
	} {
		if got := tc.c.EffectiveResult(tc.kind); got != tc.want {
			t.Errorf("%s %+v: EffectiveResult = %s, want %s", tc.kind, tc.c, got, tc.want)
		}
		if got, want := tc.c.Overridable(tc.kind), tc.want != ResultSkip; got != want {
			t.Errorf("%s %+v: Overridable = %v, want %v", tc.kind, tc.c, got, want)
		}
	}
	for _, tc := range []struct {
		f    *FailureConditions
		mode string
		ok   bool
	}{
		{nil, "", false},
		{&FailureConditions{Result: ResultRollback}, "", false},
		{&FailureConditions{Result: ResultRetry}, RetryFailedActions, true},
		{&FailureConditions{Result: ResultRetry, RetryConfiguration: &RetryConfiguration{RetryMode: RetryAllActions}}, RetryAllActions, true},
	} {
		if mode, ok := tc.f.AutomaticRetry(); mode != tc.mode || ok != tc.ok {
			t.Errorf("%+v: AutomaticRetry = %q, %v; want %q, %v", tc.f, mode, ok, tc.mode, tc.ok)
		}
	}
}
