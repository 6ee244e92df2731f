package pipeline

import "testing"

// actionsTotal adds stages of approvals until the pipeline has n actions.
func actionsTotal(n int) func(p *Pipeline) {
	return func(p *Pipeline) {
		total := 0
		for _, s := range p.Stages {
			total += len(s.Actions)
		}
		for i := 0; total < n; i++ {
			k := min(MaxActionsPerStage, n-total)
			p.Stages = append(p.Stages, Stage{Name: "More" + itoa(i), Actions: approvals(k)})
			total += k
		}
	}
}

func TestStageRules(t *testing.T) {
	stages := func(n int) func(p *Pipeline) {
		return func(p *Pipeline) {
			for i := len(p.Stages); i < n; i++ {
				p.Stages = append(p.Stages, Stage{Name: "S" + itoa(i), Actions: approvals(1)})
			}
		}
	}
	runRuleCases(t, []ruleCase{
		{name: "single stage", base: single, mutate: func(p *Pipeline) {}},
		{name: "stages missing", mutate: func(p *Pipeline) { p.Stages = nil; p.Triggers = nil }, path: "stages", msg: "is required"},
		{name: "stages empty", mutate: func(p *Pipeline) { p.Stages = []Stage{}; p.Triggers = nil }, path: "stages", msg: "must have at least one stage"},
		{name: "50 stages", mutate: stages(50)},
		{name: "51 stages", mutate: stages(51), path: "stages", msg: "must have at most 50 stages, got 51"},
		{name: "500 actions", mutate: actionsTotal(500)},
		{name: "501 actions", mutate: actionsTotal(501), path: "stages", msg: "the pipeline must have at most 500 actions, got 501"},
		{name: "name missing", mutate: func(p *Pipeline) { p.Stages[2].Name = "" }, path: "stages[2].name", msg: "is required"},
		{name: "name pattern", mutate: func(p *Pipeline) { p.Stages[2].Name = "Deploy prod" }, path: "stages[2].name", msg: "may only contain letters, digits and . @ _ -"},
		{name: "name 100", mutate: func(p *Pipeline) { p.Stages[2].Name = rep("s", 100) }},
		{name: "name 101", mutate: func(p *Pipeline) { p.Stages[2].Name = rep("s", 101) }, path: "stages[2].name", msg: "must be 1..100 characters long, got 101"},
		{name: "name duplicate", mutate: func(p *Pipeline) { p.Stages[2].Name = "Build" }, path: "stages[2].name", msg: `stage name "Build" is already used by stages[1]`},
		{name: "actions missing", mutate: func(p *Pipeline) { p.Stages[2].Actions = nil }, path: "stages[2].actions", msg: "is required"},
		{name: "actions empty", mutate: func(p *Pipeline) { p.Stages[2].Actions = []Action{} }, path: "stages[2].actions", msg: "must have at least one action"},
		{name: "50 actions", mutate: func(p *Pipeline) { p.Stages[2].Actions = approvals(50) }},
		{name: "51 actions", mutate: func(p *Pipeline) { p.Stages[2].Actions = approvals(51) }, path: "stages[2].actions", msg: "must have at most 50 actions, got 51"},
		{name: "blocker ok", mutate: func(p *Pipeline) { p.Stages[2].Blockers = []Blocker{{Name: "b", Type: "Schedule"}} }},
		{name: "blocker type", mutate: func(p *Pipeline) { p.Stages[2].Blockers = []Blocker{{Name: "b", Type: "Manual"}} }, path: "stages[2].blockers[0].type", msg: "must be one of Schedule"},
		{name: "blocker name", mutate: func(p *Pipeline) { p.Stages[2].Blockers = []Blocker{{Type: "Schedule"}} }, path: "stages[2].blockers[0].name", msg: "is required"},
	})
}

func TestConditionRules(t *testing.T) {
	be := func(p *Pipeline) *Condition { return &p.Stages[1].BeforeEntry.Conditions[0] }
	r := func(p *Pipeline) *Rule { return &be(p).Rules[0] }
	smoke := func(p *Pipeline) *Rule { return &p.Stages[2].OnSuccess.Conditions[0].Rules[0] }
	const rp = "stages[1].beforeEntry.conditions[0].rules[0]"
	runRuleCases(t, []ruleCase{
		{name: "beforeEntry conditions missing", mutate: func(p *Pipeline) { p.Stages[1].BeforeEntry.Conditions = nil }, path: "stages[1].beforeEntry.conditions", msg: "is required"},
		{name: "onSuccess conditions missing", mutate: func(p *Pipeline) { p.Stages[2].OnSuccess.Conditions = nil }, path: "stages[2].onSuccess.conditions", msg: "is required"},
		{name: "two conditions", mutate: func(p *Pipeline) { c := p.Stages[1].BeforeEntry; c.Conditions = append(c.Conditions, c.Conditions[0]) }, path: "stages[1].beforeEntry.conditions", msg: "must have exactly 1 entry, got 2"},
		{name: "zero conditions", mutate: func(p *Pipeline) { p.Stages[2].OnSuccess.Conditions = []Condition{} }, path: "stages[2].onSuccess.conditions", msg: "must have exactly 1 entry, got 0"},
		{name: "condition result bad", mutate: func(p *Pipeline) { be(p).Result = "MAYBE" }, path: "stages[1].beforeEntry.conditions[0].result", msg: "must be one of ROLLBACK, FAIL, RETRY, SKIP"},
		{name: "rules empty", mutate: func(p *Pipeline) { be(p).Rules = []Rule{} }, path: "stages[1].beforeEntry.conditions[0].rules", msg: "must have 1..5 entries, got 0"},
		{name: "rules 5", mutate: func(p *Pipeline) {
			for i := 1; i < 5; i++ {
				be(p).Rules = append(be(p).Rules, rule("R"+itoa(i)))
			}
		}},
		{name: "rules 6", mutate: func(p *Pipeline) {
			for i := 1; i < 6; i++ {
				be(p).Rules = append(be(p).Rules, rule("R"+itoa(i)))
			}
		}, path: "stages[1].beforeEntry.conditions[0].rules", msg: "must have 1..5 entries, got 6"},
		{name: "onFailure without conditions", mutate: func(p *Pipeline) { p.Stages[1].OnFailure = &FailureConditions{Result: ResultRollback} }},
		{name: "onFailure with conditions", mutate: func(p *Pipeline) {
			p.Stages[1].OnFailure = &FailureConditions{Result: ResultRollback, Conditions: []Condition{{Result: ResultRollback, Rules: []Rule{rule("R")}}}}
		}},
		{name: "onFailure result bad", mutate: func(p *Pipeline) { p.Stages[1].OnFailure = &FailureConditions{Result: "IGNORE"} }, path: "stages[1].onFailure.result", msg: `must be one of ROLLBACK, FAIL, RETRY, SKIP, got "IGNORE"`},
		{name: "retryMode ALL_ACTIONS", mutate: func(p *Pipeline) { p.Stages[1].OnFailure.RetryConfiguration.RetryMode = "ALL_ACTIONS" }},
		{name: "retryMode bad", mutate: func(p *Pipeline) { p.Stages[1].OnFailure.RetryConfiguration.RetryMode = "SOME" }, path: "stages[1].onFailure.retryConfiguration.retryMode", msg: "must be one of FAILED_ACTIONS, ALL_ACTIONS"},
		{name: "onFailure conditions 2", mutate: func(p *Pipeline) {
			p.Stages[1].OnFailure = &FailureConditions{Conditions: []Condition{{Rules: []Rule{rule("R")}}, {Rules: []Rule{rule("S")}}}}
		}, path: "stages[1].onFailure.conditions", msg: "must have exactly 1 entry, got 2"},

		{name: "rule name missing", mutate: func(p *Pipeline) { r(p).Name = "" }, path: rp + ".name", msg: "is required"},
		{name: "rule name pattern", mutate: func(p *Pipeline) { r(p).Name = "on main" }, path: rp + ".name", msg: "may only contain"},
		{name: "rule name 101", mutate: func(p *Pipeline) { r(p).Name = rep("r", 101) }, path: rp + ".name", msg: "must be 1..100 characters long"},
		{name: "rule category missing", mutate: func(p *Pipeline) { r(p).RuleTypeID.Category = "" }, path: rp + ".ruleTypeId.category", msg: "is required"},
		{name: "rule category bad", mutate: func(p *Pipeline) { r(p).RuleTypeID.Category = "Build" }, path: rp + ".ruleTypeId.category", msg: `must be one of Rule, got "Build"`},
		{name: "rule owner absent", mutate: func(p *Pipeline) { r(p).RuleTypeID.Owner = "" }},
		{name: "rule owner bad", mutate: func(p *Pipeline) { r(p).RuleTypeID.Owner = "Custom" }, path: rp + ".ruleTypeId.owner", msg: "must be one of AWS"},
		{name: "rule provider missing", mutate: func(p *Pipeline) { r(p).RuleTypeID.Provider = "" }, path: rp + ".ruleTypeId.provider", msg: "is required"},
		{name: "rule provider pattern", mutate: func(p *Pipeline) { r(p).RuleTypeID.Provider = "Variable.Check" }, path: rp + ".ruleTypeId.provider", msg: "may only contain letters, digits, _ and -"},
		{name: "rule provider 36", mutate: func(p *Pipeline) { r(p).RuleTypeID.Provider = rep("p", 36) }, path: rp + ".ruleTypeId.provider", msg: "must be 1..35 characters long"},
		{name: "rule version absent", mutate: func(p *Pipeline) { r(p).RuleTypeID.Version = "" }},
		{name: "rule version 10", mutate: func(p *Pipeline) { r(p).RuleTypeID.Version = rep("1", 10) }, path: rp + ".ruleTypeId.version", msg: "must be 1..9 characters long"},
		// A Commands rule passes configuration keys through unchecked, as
		// the Commands action does: the counts are the API's.
		{name: "rule config 200", mutate: func(p *Pipeline) {
			smoke(p).Configuration = map[string]string{}
			for _, k := range strs("k", 200) {
				smoke(p).Configuration[k] = "v"
			}
		}},
		{name: "rule config 201", mutate: func(p *Pipeline) {
			smoke(p).Configuration = map[string]string{}
			for _, k := range strs("k", 201) {
				smoke(p).Configuration[k] = "v"
			}
		}, path: "stages[2].onSuccess.conditions[0].rules[0].configuration", msg: "must have at most 200 entries, got 201"},
		{name: "rule config key 51", mutate: func(p *Pipeline) { r(p).Configuration[rep("k", 51)] = "v" }, path: rp + ".configuration", msg: "must be 1..50 characters long, got 51"},
		{name: "rule config value empty", mutate: func(p *Pipeline) { r(p).Configuration["Value"] = "" }, path: rp + ".configuration.Value", msg: "must be 1..10000 characters long, got 0"},
		{name: "rule config value 10000", mutate: func(p *Pipeline) { r(p).Configuration["Value"] = rep("v", 10000) }},
		{name: "rule config value 10001", mutate: func(p *Pipeline) { r(p).Configuration["Value"] = rep("v", 10001) }, path: rp + ".configuration.Value", msg: "must be 1..10000 characters long, got 10001"},
		{name: "rule commands empty", mutate: func(p *Pipeline) { smoke(p).Commands = []string{} }, path: "stages[2].onSuccess.conditions[0].rules[0].commands", msg: "must have 1..50 entries, got 0"},
		{name: "rule command empty", mutate: func(p *Pipeline) { smoke(p).Commands[0] = "" }, path: "stages[2].onSuccess.conditions[0].rules[0].commands[0]", msg: "must be 1..1000 characters long, got 0"},
		{name: "rule region", mutate: func(p *Pipeline) { r(p).Region = "us" }, path: rp + ".region", msg: "must be 4..30 characters long"},
		{name: "rule timeout 4", mutate: func(p *Pipeline) { r(p).TimeoutInMinutes = ptr(4) }, path: rp + ".timeoutInMinutes", msg: "must be 5..86400, got 4"},
		{name: "rule timeout 86400", mutate: func(p *Pipeline) { r(p).TimeoutInMinutes = ptr(86400) }},
		{name: "rule timeout 86401", mutate: func(p *Pipeline) { r(p).TimeoutInMinutes = ptr(86401) }, path: rp + ".timeoutInMinutes", msg: "must be 5..86400, got 86401"},

		// What a rule may refer to: beforeEntry sees earlier stages only;
		// onSuccess and onFailure also see their own stage.
		{name: "beforeEntry ref to own stage", mutate: func(p *Pipeline) { r(p).Configuration["Value"] = "#{BuildVars.VERSION}" },
			path: rp + ".configuration.Value", msg: `#{BuildVars.VERSION}: namespace "BuildVars" is declared by stages[1].actions[0], which does not run before this rule`},
		{name: "beforeEntry input from own stage", mutate: func(p *Pipeline) { r(p).InputArtifacts = []InputArtifact{{Name: "BuildOut"}} },
			path: rp + ".inputArtifacts[0]", msg: `artifact "BuildOut" is not produced by any action that runs before this rule (stages[1].actions[0] produces it`},
		{name: "beforeEntry input from earlier stage", mutate: func(p *Pipeline) { r(p).InputArtifacts = []InputArtifact{{Name: "Src"}} }},
		{name: "onFailure rule sees own stage", mutate: func(p *Pipeline) {
			rr := Rule{Name: "Check", RuleTypeID: RuleTypeID{Category: "Rule", Provider: RuleCommands}}
			rr.Commands = []string{"test -n #{BuildVars.VERSION}"}
			rr.InputArtifacts = []InputArtifact{{Name: "Bundle"}}
			p.Stages[1].OnFailure = &FailureConditions{Conditions: []Condition{{Rules: []Rule{rr}}}}
		}},
		{name: "onSuccess rule command unknown namespace", mutate: func(p *Pipeline) { smoke(p).Commands[0] = "echo #{Later.x}" },
			path: "stages[2].onSuccess.conditions[0].rules[0].commands[0]", msg: `namespace "Later" is not declared by any action that runs before this rule`},
		{name: "rule input name missing", mutate: func(p *Pipeline) { smoke(p).InputArtifacts[0].Name = "" }, path: "stages[2].onSuccess.conditions[0].rules[0].inputArtifacts[0].name", msg: "is required"},
	})
}

func TestActionRules(t *testing.T) {
	compile := func(p *Pipeline) *Action { return &p.Stages[1].Actions[0] }
	pkg := func(p *Pipeline) *Action { return &p.Stages[1].Actions[1] }
	const cp = "stages[1].actions[0]"
	const pp = "stages[1].actions[1]"
	runRuleCases(t, []ruleCase{
		{name: "name ok", mutate: func(p *Pipeline) { pkg(p).Name = "a.b@c_d-e" }},
		{name: "name missing", mutate: func(p *Pipeline) { pkg(p).Name = "" }, path: pp + ".name", msg: "is required"},
		{name: "name pattern", mutate: func(p *Pipeline) { pkg(p).Name = "make zip" }, path: pp + ".name", msg: `"make zip" may only contain letters, digits and . @ _ -`},
		{name: "name 101", mutate: func(p *Pipeline) { pkg(p).Name = rep("a", 101) }, path: pp + ".name", msg: "must be 1..100 characters long, got 101"},
		{name: "name duplicate in stage", mutate: func(p *Pipeline) { pkg(p).Name = "Compile" }, path: pp + ".name", msg: `action name "Compile" is already used by stages[1].actions[0] in this stage`},
		{name: "name reused in another stage", mutate: func(p *Pipeline) { p.Stages[2].Actions[0].Name = "Compile" }},

		{name: "category missing", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Category = "" }, path: pp + ".actionTypeId.category", msg: "is required"},
		{name: "category bad", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Category = "Lint" }, path: pp + ".actionTypeId.category", msg: "must be one of Source, Build, Deploy, Test, Invoke, Approval, Compute"},
		{name: "owner missing", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "" }, path: pp + ".actionTypeId.owner", msg: "is required"},
		{name: "owner bad", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "Me" }, path: pp + ".actionTypeId.owner", msg: "must be one of AWS, ThirdParty, Custom"},
		{name: "owner Custom", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "Custom" }},
		{name: "provider missing", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Provider = "" }, path: pp + ".actionTypeId.provider", msg: "is required"},
		{name: "provider 35", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "Custom"; pkg(p).ActionTypeID.Provider = rep("p", 35) }},
		{name: "provider unknown for AWS", mutate: func(p *Pipeline) { compile(p).ActionTypeID.Provider = "Command" }, path: cp + ".actionTypeId.provider", msg: `unknown provider "Command" for owner AWS (did you mean "Commands"?)`},
		{name: "provider unknown, nothing near", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Provider = "Jenkins" }, path: pp + ".actionTypeId.provider", msg: `unknown provider "Jenkins" for owner AWS`},
		{name: "provider of AWS that runs only deployed", mutate: func(p *Pipeline) {
			pkg(p).ActionTypeID.Provider = "CloudFormation"
			pkg(p).Configuration = map[string]string{"StackName": "s"}
		}},
		{name: "provider Custom not checked", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "Custom"; pkg(p).ActionTypeID.Provider = "Command" }},
		{name: "Commands without commands", mutate: func(p *Pipeline) { compile(p).Commands = nil }, path: cp + ".commands", msg: "a Commands action needs at least one command"},
		{name: "CodeBuild config key typo", mutate: func(p *Pipeline) { pkg(p).Configuration["ProjectNmae"] = "x" }, path: pp + ".configuration.ProjectNmae", msg: `unknown configuration key "ProjectNmae" of a CodeBuild action (did you mean "ProjectName"?)`},
		{name: "CodeBuild config key case", mutate: func(p *Pipeline) { pkg(p).Configuration["primarysource"] = "Src" }, path: pp + ".configuration.primarysource", msg: `(did you mean "PrimarySource"?)`},
		{name: "provider 36", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Provider = rep("p", 36) }, path: pp + ".actionTypeId.provider", msg: "must be 1..35 characters long, got 36"},
		{name: "provider pattern", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Provider = "Code.Build" }, path: pp + ".actionTypeId.provider", msg: "may only contain letters, digits, _ and -"},
		{name: "version missing", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Version = "" }, path: pp + ".actionTypeId.version", msg: "is required"},
		{name: "version 9", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Version = "v-1_23456" }},
		{name: "version 10", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Version = rep("1", 10) }, path: pp + ".actionTypeId.version", msg: "must be 1..9 characters long, got 10"},
		{name: "version pattern", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Version = "1.0" }, path: pp + ".actionTypeId.version", msg: `"1.0" may only contain letters, digits, _ and -`},

		{name: "runOrder absent", mutate: func(p *Pipeline) { p.Stages[2].Actions[0].RunOrder = nil }},
		{name: "runOrder 999", mutate: func(p *Pipeline) { pkg(p).RunOrder = ptr(999) }},
		{name: "runOrder 0", mutate: func(p *Pipeline) { p.Stages[2].Actions[1].RunOrder = ptr(0) }, path: "stages[2].actions[1].runOrder", msg: "must be 1..999, got 0"},
		{name: "runOrder 1000", mutate: func(p *Pipeline) { pkg(p).RunOrder = ptr(1000) }, path: pp + ".runOrder", msg: "must be 1..999, got 1000"},
		{name: "timeout 5", mutate: func(p *Pipeline) { compile(p).TimeoutInMinutes = ptr(5) }},
		{name: "timeout 86400 on any action", mutate: func(p *Pipeline) { p.Stages[2].Actions[1].TimeoutInMinutes = ptr(86400) }},
		{name: "timeout 4", mutate: func(p *Pipeline) { compile(p).TimeoutInMinutes = ptr(4) }, path: cp + ".timeoutInMinutes", msg: "must be 5..86400, got 4"},
		{name: "timeout 86401", mutate: func(p *Pipeline) { compile(p).TimeoutInMinutes = ptr(86401) }, path: cp + ".timeoutInMinutes", msg: "must be 5..86400, got 86401"},
		{name: "region 30", mutate: func(p *Pipeline) { compile(p).Region = rep("r", 30) }},
		{name: "region short", mutate: func(p *Pipeline) { compile(p).Region = "eu1" }, path: cp + ".region", msg: "must be 4..30 characters long, got 3"},
		{name: "region long", mutate: func(p *Pipeline) { compile(p).Region = rep("r", 31) }, path: cp + ".region", msg: "must be 4..30 characters long, got 31"},

		{name: "namespace pattern", mutate: func(p *Pipeline) { pkg(p).Namespace = "Pkg.Vars" }, path: pp + ".namespace", msg: "may only contain letters, digits and @ _ -"},
		{name: "namespace 100", mutate: func(p *Pipeline) { pkg(p).Namespace = rep("n", 100) }},
		{name: "namespace 101", mutate: func(p *Pipeline) { pkg(p).Namespace = rep("n", 101) }, path: pp + ".namespace", msg: "must be 1..100 characters long, got 101"},
		{name: "namespace duplicate", mutate: func(p *Pipeline) { pkg(p).Namespace = "SourceVars" }, path: pp + ".namespace", msg: `namespace "SourceVars" is already declared by stages[0].actions[0]`},
		{name: "namespace reserved variables", mutate: func(p *Pipeline) { pkg(p).Namespace = "variables" }, path: pp + ".namespace", msg: `namespace "variables" is reserved`},
		{name: "namespace reserved codepipeline", mutate: func(p *Pipeline) { pkg(p).Namespace = "codepipeline" }, path: pp + ".namespace", msg: `namespace "codepipeline" is reserved`},
		{name: "namespace equals artifact", mutate: func(p *Pipeline) { pkg(p).Namespace = "Src" }, path: pp + ".namespace", msg: "namespaces and artifact names must differ"},

		{name: "config key 50", mutate: func(p *Pipeline) { pkg(p).ActionTypeID.Owner = "Custom"; pkg(p).Configuration[rep("k", 50)] = "v" }},
		{name: "config key empty", mutate: func(p *Pipeline) { pkg(p).Configuration[""] = "v" }, path: pp + ".configuration", msg: `key "" must be 1..50 characters long, got 0`},
		{name: "config key 51", mutate: func(p *Pipeline) { pkg(p).Configuration[rep("k", 51)] = "v" }, path: pp + ".configuration", msg: "must be 1..50 characters long, got 51"},
		{name: "config value empty", mutate: func(p *Pipeline) { pkg(p).Configuration["ProjectName"] = "" }, path: pp + ".configuration.ProjectName", msg: "must be 1..1000 characters long, got 0"},
		{name: "config value 1000", mutate: func(p *Pipeline) { pkg(p).Configuration["ProjectName"] = rep("v", 1000) }},
		{name: "config value 1001", mutate: func(p *Pipeline) { pkg(p).Configuration["ProjectName"] = rep("v", 1001) }, path: pp + ".configuration.ProjectName", msg: "must be 1..1000 characters long, got 1001"},

		{name: "commands 50", mutate: func(p *Pipeline) { compile(p).Commands = strs("echo ", 50) }},
		{name: "commands empty", mutate: func(p *Pipeline) { compile(p).Commands = []string{} }, path: cp + ".commands", msg: "must have 1..50 entries, got 0"},
		{name: "commands 51", mutate: func(p *Pipeline) { compile(p).Commands = strs("echo ", 51) }, path: cp + ".commands", msg: "must have 1..50 entries, got 51"},
		{name: "command empty", mutate: func(p *Pipeline) { compile(p).Commands[1] = "" }, path: cp + ".commands[1]", msg: "must be 1..1000 characters long, got 0"},
		{name: "command 1000", mutate: func(p *Pipeline) { compile(p).Commands[1] = rep("c", 1000) }},
		{name: "command 1001", mutate: func(p *Pipeline) { compile(p).Commands[1] = rep("c", 1001) }, path: cp + ".commands[1]", msg: "must be 1..1000 characters long, got 1001"},

		{name: "outputVariables 15", mutate: func(p *Pipeline) { compile(p).OutputVariables = strs("V", 15) }},
		{name: "outputVariables empty", mutate: func(p *Pipeline) { compile(p).OutputVariables = []string{} }, path: cp + ".outputVariables", msg: "must have 1..15 entries, got 0"},
		{name: "outputVariables 16", mutate: func(p *Pipeline) { compile(p).OutputVariables = strs("V", 16) }, path: cp + ".outputVariables", msg: "must have 1..15 entries, got 16"},
		{name: "outputVariable empty", mutate: func(p *Pipeline) { compile(p).OutputVariables[0] = "" }, path: cp + ".outputVariables[0]", msg: "must be 1..128 characters long, got 0"},
		{name: "outputVariable 128", mutate: func(p *Pipeline) { compile(p).OutputVariables[0] = rep("v", 128) }},
		{name: "outputVariable 129", mutate: func(p *Pipeline) { compile(p).OutputVariables[0] = rep("v", 129) }, path: cp + ".outputVariables[0]", msg: "must be 1..128 characters long, got 129"},

		{name: "output name missing", mutate: func(p *Pipeline) { pkg(p).OutputArtifacts[0].Name = "" }, path: pp + ".outputArtifacts[0].name", msg: "is required", many: true},
		{name: "output name pattern", mutate: func(p *Pipeline) { pkg(p).OutputArtifacts[0].Name = "bundle.zip" }, path: pp + ".outputArtifacts[0].name", msg: `"bundle.zip" may only contain letters, digits, _ and -`, many: true},
		{name: "output name 100", mutate: func(p *Pipeline) {
			pkg(p).OutputArtifacts = append(pkg(p).OutputArtifacts, OutputArtifact{Name: rep("a", 100)})
		}},
		{name: "output name 101", mutate: func(p *Pipeline) {
			pkg(p).OutputArtifacts = append(pkg(p).OutputArtifacts, OutputArtifact{Name: rep("a", 101)})
		}, path: pp + ".outputArtifacts[1].name", msg: "must be 1..100 characters long, got 101"},
		{name: "output name duplicate", mutate: func(p *Pipeline) {
			pkg(p).OutputArtifacts = append(pkg(p).OutputArtifacts, OutputArtifact{Name: "BuildOut"})
		},
			path: pp + ".outputArtifacts[1].name", msg: `artifact "BuildOut" is already produced by stages[1].actions[0]; output artifact names must be unique in the pipeline`},
		{name: "output name duplicate in one action", mutate: func(p *Pipeline) {
			pkg(p).OutputArtifacts = append(pkg(p).OutputArtifacts, OutputArtifact{Name: "Bundle"})
		},
			path: pp + ".outputArtifacts[1].name", msg: `artifact "Bundle" is already produced by stages[1].actions[1]`},
		{name: "files 10", mutate: func(p *Pipeline) { compile(p).OutputArtifacts[0].Files = strs("f", 10) }},
		{name: "files empty", mutate: func(p *Pipeline) { compile(p).OutputArtifacts[0].Files = []string{} }, path: cp + ".outputArtifacts[0].files", msg: "must have 1..10 entries, got 0"},
		{name: "files 11", mutate: func(p *Pipeline) { compile(p).OutputArtifacts[0].Files = strs("f", 11) }, path: cp + ".outputArtifacts[0].files", msg: "must have 1..10 entries, got 11"},
		{name: "file empty", mutate: func(p *Pipeline) { compile(p).OutputArtifacts[0].Files[0] = "" }, path: cp + ".outputArtifacts[0].files[0]", msg: "must be 1..128 characters long, got 0"},
		{name: "file 129", mutate: func(p *Pipeline) { compile(p).OutputArtifacts[0].Files[0] = rep("f", 129) }, path: cp + ".outputArtifacts[0].files[0]", msg: "must be 1..128 characters long, got 129"},

		{name: "commands action without input", mutate: func(p *Pipeline) { compile(p).InputArtifacts = nil }},
		{name: "input name missing", mutate: func(p *Pipeline) { pkg(p).InputArtifacts[0].Name = "" }, path: pp + ".inputArtifacts[0].name", msg: "is required"},
		{name: "input name pattern", mutate: func(p *Pipeline) { pkg(p).InputArtifacts[0].Name = "a b" }, path: pp + ".inputArtifacts[0].name", msg: "may only contain", many: true},
		{name: "input dangling", mutate: func(p *Pipeline) { pkg(p).InputArtifacts[0].Name = "Nope" }, path: pp + ".inputArtifacts[0]", msg: `artifact "Nope" is not produced by any action that runs before this one`},
		{name: "input from same runOrder", mutate: func(p *Pipeline) { pkg(p).RunOrder = ptr(1) }, path: pp + ".inputArtifacts[0]", msg: `artifact "BuildOut" is not produced by any action that runs before this one (stages[1].actions[0] produces it, but does not run earlier)`, many: true},
		{name: "input from later stage", mutate: func(p *Pipeline) {
			compile(p).InputArtifacts = append(compile(p).InputArtifacts, InputArtifact{Name: "Bundle"})
		}, path: cp + ".inputArtifacts[1]", msg: `artifact "Bundle" is not produced by any action that runs before this one (stages[1].actions[1] produces it`},
		{name: "input from earlier stage", mutate: func(p *Pipeline) {
			p.Stages[2].Actions[1].InputArtifacts = []InputArtifact{{Name: "Src"}, {Name: "BuildOut"}}
		}},

		{name: "env 10", mutate: func(p *Pipeline) {
			for _, n := range strs("E", 8) {
				compile(p).EnvironmentVariables = append(compile(p).EnvironmentVariables, EnvironmentVariable{Name: n, Value: "v"})
			}
		}},
		{name: "env empty", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables = []EnvironmentVariable{} }, path: cp + ".environmentVariables", msg: "must have 1..10 entries, got 0"},
		{name: "env 11", mutate: func(p *Pipeline) {
			for _, n := range strs("E", 9) {
				compile(p).EnvironmentVariables = append(compile(p).EnvironmentVariables, EnvironmentVariable{Name: n, Value: "v"})
			}
		}, path: cp + ".environmentVariables", msg: "must have 1..10 entries, got 11"},
		{name: "env name missing", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Name = "" }, path: cp + ".environmentVariables[1].name", msg: "is required"},
		{name: "env name pattern", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Name = "MY-VAR" }, path: cp + ".environmentVariables[1].name", msg: "may only contain letters, digits and _"},
		{name: "env name 128", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Name = rep("N", 128) }},
		{name: "env name 129", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Name = rep("N", 129) }, path: cp + ".environmentVariables[1].name", msg: "must be 1..128 characters long, got 129"},
		{name: "env value missing", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Value = "" }, path: cp + ".environmentVariables[1].value", msg: "is required"},
		{name: "env value 2000", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Value = rep("v", 2000) }},
		{name: "env value 2001", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Value = rep("v", 2001) }, path: cp + ".environmentVariables[1].value", msg: "must be 1..2000 characters long, got 2001"},
		{name: "env type absent", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Type = "" }},
		{name: "env type bad", mutate: func(p *Pipeline) { compile(p).EnvironmentVariables[1].Type = "SECRET" }, path: cp + ".environmentVariables[1].type", msg: "must be one of PLAINTEXT, SECRETS_MANAGER"},
	})
}

func TestReferenceRules(t *testing.T) {
	pkgCfg := func(s string) func(p *Pipeline) {
		return func(p *Pipeline) { p.Stages[1].Actions[1].Configuration["ProjectName"] = s }
	}
	const cfg = "stages[1].actions[1].configuration.ProjectName"
	runRuleCases(t, []ruleCase{
		{name: "earlier stage", mutate: pkgCfg("#{SourceVars.CommitId}")},
		{name: "lower runOrder", mutate: pkgCfg("#{BuildVars.VERSION}")},
		{name: "execution id", mutate: pkgCfg("#{codepipeline.PipelineExecutionId}")},
		{name: "pipeline variable", mutate: pkgCfg("#{variables.Flags}")},
		{name: "no references", mutate: pkgCfg("plain { text } with # and }")},
		{name: "unknown namespace", mutate: pkgCfg("x-#{Nope.v}"), path: cfg, msg: `#{Nope.v}: namespace "Nope" is not declared by any action that runs before this one`},
		{name: "later stage", mutate: func(p *Pipeline) { p.Stages[0].Actions[0].Configuration["BranchName"] = "#{BuildVars.VERSION}" },
			path: "stages[0].actions[0].configuration.BranchName", msg: `namespace "BuildVars" is declared by stages[1].actions[0], which does not run before this one`},
		{name: "same runOrder", mutate: func(p *Pipeline) {
			p.Stages[1].Actions[1].RunOrder = ptr(1)
			p.Stages[1].Actions[1].InputArtifacts = nil
		},
			path: cfg, msg: `namespace "BuildVars" is declared by stages[1].actions[0], which does not run before this one`},
		{name: "own namespace", mutate: func(p *Pipeline) { p.Stages[1].Actions[0].Commands[0] = "echo #{BuildVars.VERSION}" },
			path: "stages[1].actions[0].commands[0]", msg: `namespace "BuildVars" is declared by stages[1].actions[0], which does not run before this one`},
		{name: "undeclared pipeline variable", mutate: pkgCfg("#{variables.Region}"), path: cfg, msg: `#{variables.Region}: no pipeline variable "Region" is declared`},
		{name: "unknown codepipeline key", mutate: pkgCfg("#{codepipeline.PipelineName}"), path: cfg, msg: "#{codepipeline.PipelineName}: the codepipeline namespace only has PipelineExecutionId"},
		{name: "unclosed", mutate: pkgCfg("build-#{SourceVars.CommitId"), path: cfg, msg: `"#{SourceVars.CommitId" is not closed with "}"`},
		{name: "no dot", mutate: pkgCfg("#{CommitId}"), path: cfg, msg: `"#{CommitId}" is not a variable reference of the form #{namespace.variable}`},
		{name: "empty name", mutate: pkgCfg("#{SourceVars.}"), path: cfg, msg: "is not a variable reference"},
		{name: "in commands", mutate: func(p *Pipeline) { p.Stages[1].Actions[0].Commands[1] = "echo #{Nope.x}" },
			path: "stages[1].actions[0].commands[1]", msg: `namespace "Nope" is not declared`},
		{name: "in environment variable", mutate: func(p *Pipeline) { p.Stages[1].Actions[0].EnvironmentVariables[0].Value = "#{variables.Nope}" },
			path: "stages[1].actions[0].environmentVariables[0].value", msg: `no pipeline variable "Nope" is declared`},
		{name: "two problems in one value", mutate: pkgCfg("#{A.x}#{B.y}"), path: cfg, msg: `namespace "B"`, many: true},
	})
}
