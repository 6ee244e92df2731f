package main

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// TestConsoleBrowserEditorConditions: a stage's conditions in the visual
// editor. The form follows a document's onFailure condition and removes
// it; a beforeEntry condition is added, its rule's required configuration
// named by the server on its fields, filled, given a second rule of
// another type (which SKIP does not allow, as the server says on its
// field), and saved: the pipeline keeps the conditions.
func TestConsoleBrowserEditorConditions(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-editor-conditions")
	b.signIn(s.creds)
	b.run("the editor", chromedp.Navigate(s.endpoint+"/console/#/new"), visible(`#ed-save`))

	// The form from the JSON: a stage that rolls back when a deployment
	// window says so.
	fill(b, "ed-json", `{"name": "gated", "pipelineType": "V2", "variables": [{"name": "BRANCH", "defaultValue": "main"}], "stages": [
	  {"name": "Build", "onFailure": {"result": "ROLLBACK", "conditions": [{"rules": [{"name": "Window",
	    "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "DeploymentWindow", "version": "1"},
	    "configuration": {"Cron": "0 0 9-17 ? * MON-FRI *"}}]}]},
	   "actions": [{"name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
	  {"name": "Deploy",
	   "actions": [{"name": "Ship", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]}`)
	b.run("the failure condition in the form",
		poll(`document.getElementById('f-stages[0].onFailure.conditions[0].rules[0].configuration.Cron')?.value === '0 0 9-17 ? * MON-FRI *' &&
			document.getElementById('f-stages[0].onFailure.conditions[0].rules[0].ruleTypeId').value === 'DeploymentWindow/1' &&
			document.getElementById('f-stages[0].onFailure.result').value === 'ROLLBACK'`),
		poll(noProblems))
	b.run("removing it",
		chromedp.Click(chromedp.CSS(byID("b-stages[0].onFailure.conditions[0].remove"))),
		poll(`document.activeElement.id === 'b-stages[0].onFailure.conditions.add'`))
	if got, want := inJSON(b, "the stage's failure", ".stages[0].onFailure"), `{"result":"ROLLBACK"}`; got != want {
		t.Fatalf("onFailure after the removal: %s, want %s", got, want)
	}

	// A condition before Deploy: its new rule's configuration is required.
	const rule0 = "stages[1].beforeEntry.conditions[0].rules[0]"
	b.run("a condition before entry",
		chromedp.Click(chromedp.CSS(byID("b-stages[1].beforeEntry.conditions.add"))),
		poll(`document.activeElement.id === 'f-`+rule0+`.name'`),
		poll(invalidAt("f-"+rule0+".configuration.Operator", rule0+".configuration.Operator", "is required by a VariableCheck rule")))
	b.screenshot("required")
	fill(b, "f-"+rule0+".configuration.Operator", "EQ")
	fill(b, "f-"+rule0+".configuration.Value", "main")
	fill(b, "f-"+rule0+".configuration.Variable", "#{variables.BRANCH}")
	choose(b, "f-stages[1].beforeEntry.conditions[0].result", "SKIP")
	if got, want := inJSON(b, "the condition", ".stages[1].beforeEntry"), `{"conditions":[{"rules":[{"name":"Rule1",`+
		`"ruleTypeId":{"category":"Rule","owner":"AWS","provider":"VariableCheck","version":"1"},`+
		`"configuration":{"Operator":"EQ","Value":"main","Variable":"#{variables.BRANCH}"}}],"result":"SKIP"}]}`; got != want {
		t.Fatalf("beforeEntry in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("the condition is valid", poll(noProblems))

	// A second rule, a Commands one: no command yet, and not under SKIP.
	const rule1 = "stages[1].beforeEntry.conditions[0].rules[1]"
	b.run("a second rule",
		chromedp.Click(chromedp.CSS(byID("b-stages[1].beforeEntry.conditions[0].rules.add"))),
		poll(`document.activeElement.id === 'f-`+rule1+`.name'`))
	choose(b, "f-"+rule1+".ruleTypeId", "Commands/1")
	b.run("what the server says of it",
		visible(byID("f-"+rule1+".commands")),
		poll(invalidAt("f-"+rule1+".commands", rule1+".commands", "a Commands rule needs at least one command")),
		poll(invalidAt("f-"+rule1+".ruleTypeId", rule1+".ruleTypeId.provider", "cannot stand in a condition whose result is SKIP")))
	fill(b, "f-"+rule1+".commands", "test \"$BRANCH\" != frozen")
	choose(b, "f-stages[1].beforeEntry.conditions[0].result", "FAIL")
	b.run("two rules are valid", poll(noProblems))
	b.screenshot("conditions")

	b.run("saving", chromedp.Click(chromedp.CSS(`#ed-save`)), poll(`location.hash === '#/pipelines/gated'`))
	var got struct {
		Pipeline pipeline.Pipeline `json:"pipeline"`
	}
	if code := s.get(t, "/v1/pipelines/gated", &got); code != 200 {
		t.Fatalf("GET gated: %d", code)
	}
	be := got.Pipeline.Stages[1].BeforeEntry
	if be == nil || len(be.Conditions) != 1 || be.Conditions[0].Result != "FAIL" || len(be.Conditions[0].Rules) != 2 {
		saved, _ := json.Marshal(be)
		t.Fatalf("the saved beforeEntry: %s", saved)
	}
	if r := be.Conditions[0].Rules[1]; r.RuleTypeID.Provider != "Commands" || len(r.Commands) != 1 || r.Commands[0] != `test "$BRANCH" != frozen` {
		t.Fatalf("the saved second rule: %+v", r)
	}
	if of := got.Pipeline.Stages[0].OnFailure; of == nil || of.Result != "ROLLBACK" || len(of.Conditions) != 0 {
		t.Fatalf("the saved onFailure of Build: %+v", of)
	}
}
