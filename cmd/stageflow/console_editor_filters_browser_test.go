package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/chromedp"

	"github.com/stageflow/stageflow/shared/service"
)

// TestConsoleBrowserEditorFilters: a trigger's push and pull request
// filters, a stage's failure handling and a Commands action's variables
// and timeout, edited in the form and read back
// from the JSON; a pattern the server refuses is marked on its field; an
// emptied filter leaves the document; filters added and removed up to the
// three of a kind CodePipeline takes.
func TestConsoleBrowserEditorFilters(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-editor-filters")
	b.signIn(s.creds)
	b.run("a new pipeline with a trigger",
		chromedp.Navigate(s.endpoint+"/console/#/new"),
		visible(`#ed-save`))
	fill(b, "ed-json", `{"name": "filters", "pipelineType": "V2", "stages": [{"name": "Build",
	  "actions": [{"name": "Source", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}],
	  "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Source"}}]}`)
	b.run("the trigger's filter fields",
		visible(byID("f-triggers[0].gitConfiguration.push[0].branches.includes")),
		visible(byID("f-triggers[0].gitConfiguration.pullRequest[0].events")),
		visible(byID("f-stages[0].onFailure.result")),
		poll(noProblems))

	fill(b, "f-triggers[0].gitConfiguration.push[0].branches.includes", "main, release/*")
	fill(b, "f-triggers[0].gitConfiguration.push[0].filePaths.excludes", "docs/**")
	b.run("two pull request events",
		chromedp.Click(chromedp.CSS(byID("f-triggers[0].gitConfiguration.pullRequest[0].events")+` input[value="OPEN"]`)),
		chromedp.Click(chromedp.CSS(byID("f-triggers[0].gitConfiguration.pullRequest[0].events")+` input[value="UPDATED"]`)))
	fill(b, "f-triggers[0].gitConfiguration.pullRequest[0].branches.includes", "main")
	if got, want := inJSON(b, "the trigger", ".triggers[0].gitConfiguration"),
		`{"sourceActionName":"Source","push":[{"branches":{"includes":["main","release/*"]},"filePaths":{"excludes":["docs/**"]}}],`+
			`"pullRequest":[{"events":["OPEN","UPDATED"],"branches":{"includes":["main"]}}]}`; got != want {
		t.Fatalf("the trigger in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("the filters are valid", poll(noProblems))
	b.screenshot("trigger")

	// A branch pattern longer than CodePipeline takes: on its field.
	fill(b, "f-triggers[0].gitConfiguration.push[0].branches.includes", "main, "+strings.Repeat("b", 300))
	b.run("a refused pattern", poll(invalidAt("f-triggers[0].gitConfiguration.push[0].branches.includes",
		"triggers[0].gitConfiguration.push[0].branches.includes[1]", "")))
	b.screenshot("refused-pattern")

	// Emptied, the push filter leaves the document; unticked, the events too.
	fill(b, "f-triggers[0].gitConfiguration.push[0].branches.includes", "")
	fill(b, "f-triggers[0].gitConfiguration.push[0].filePaths.excludes", "")
	b.run("no more events",
		chromedp.Click(chromedp.CSS(byID("f-triggers[0].gitConfiguration.pullRequest[0].events")+` input[value="OPEN"]`)),
		chromedp.Click(chromedp.CSS(byID("f-triggers[0].gitConfiguration.pullRequest[0].events")+` input[value="UPDATED"]`)))
	if got, want := inJSON(b, "the emptied trigger", ".triggers[0].gitConfiguration"),
		`{"sourceActionName":"Source","pullRequest":[{"branches":{"includes":["main"]}}]}`; got != want {
		t.Fatalf("the emptied trigger in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("valid again", poll(noProblems))

	// A stage that retries all its actions once, then rolls back instead.
	choose(b, "f-stages[0].onFailure.result", "RETRY")
	b.run("the retry mode", visible(byID("f-stages[0].onFailure.retryConfiguration.retryMode")),
		poll(`document.activeElement.id === 'f-stages[0].onFailure.result'`))
	choose(b, "f-stages[0].onFailure.retryConfiguration.retryMode", "ALL_ACTIONS")
	if got, want := inJSON(b, "the stage's failure", ".stages[0].onFailure"), `{"result":"RETRY","retryConfiguration":{"retryMode":"ALL_ACTIONS"}}`; got != want {
		t.Fatalf("onFailure in the JSON: %s, want %s", got, want)
	}
	b.run("a retrying stage is valid", poll(noProblems))
	choose(b, "f-stages[0].onFailure.result", "ROLLBACK")
	b.run("no retry mode for a rollback", chromedp.WaitNotPresent(chromedp.CSS(byID("f-stages[0].onFailure.retryConfiguration.retryMode"))))
	if got, want := inJSON(b, "the stage's failure", ".stages[0].onFailure"), `{"result":"ROLLBACK"}`; got != want {
		t.Fatalf("onFailure in the JSON: %s, want %s", got, want)
	}
	choose(b, "f-stages[0].onFailure.result", "")
	if got := inJSON(b, "the stage", ".stages[0]"); strings.Contains(got, "onFailure") {
		t.Fatalf("onFailure left in the JSON: %s", got)
	}

	// A Commands action's output and environment variables and timeout.
	fill(b, "f-stages[0].actions[0].outputVariables", "VERSION, COMMIT")
	fill(b, "f-stages[0].actions[0].environmentVariables", "STAGE=beta\nGREETING=a=b c\n")
	fill(b, "f-stages[0].actions[0].timeoutInMinutes", "30")
	if got, want := inJSON(b, "the action", ".stages[0].actions[0]"), `{"name":"Source","actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},`+
		`"commands":["true"],"outputVariables":["VERSION","COMMIT"],"environmentVariables":[{"name":"STAGE","value":"beta"},{"name":"GREETING","value":"a=b c"}],"timeoutInMinutes":30}`; got != want {
		t.Fatalf("the action in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("the action's variables are valid", poll(noProblems))
	fill(b, "f-stages[0].actions[0].timeoutInMinutes", "1")
	b.run("a timeout too short", poll(invalidAt("f-stages[0].actions[0].timeoutInMinutes", "stages[0].actions[0].timeoutInMinutes", "")))
	fill(b, "f-stages[0].actions[0].timeoutInMinutes", "")

	// The form follows the JSON: a document's filters fill their fields.
	fill(b, "ed-json", `{"name": "filters", "pipelineType": "V2", "stages": [{"name": "Build",
	  "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
	  "actions": [{"name": "Source", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}],
	  "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Source",
	    "push": [{"tags": {"includes": ["v*"]}}, {"branches": {"includes": ["main"]}}], "pullRequest": [{"events": ["CLOSED"]}]}}]}`)
	b.run("the form from the JSON",
		poll(`document.getElementById('f-triggers[0].gitConfiguration.push[0].tags.includes').value === 'v*' &&
			document.getElementById('f-triggers[0].gitConfiguration.push[1].branches.includes').value === 'main' &&
			document.querySelector('#f-triggers\\[0\\]\\.gitConfiguration\\.pullRequest\\[0\\]\\.events input[value="CLOSED"]').checked &&
			!document.querySelector('#f-triggers\\[0\\]\\.gitConfiguration\\.pullRequest\\[0\\]\\.events input[value="OPEN"]').checked &&
			document.getElementById('f-stages[0].onFailure.result').value === 'RETRY' &&
			document.getElementById('f-stages[0].onFailure.retryConfiguration.retryMode').value === 'FAILED_ACTIONS'`))

	// More filters of a kind: a third push filter added (three at most),
	// filled, then the second removed.
	addPush := byID("b-triggers[0].gitConfiguration.push.add")
	b.run("a third push filter",
		chromedp.Click(chromedp.CSS(addPush)),
		poll(`document.activeElement.id === 'f-triggers[0].gitConfiguration.push[2].branches.includes'`),
		poll(`document.querySelector('`+addPush+`').disabled`))
	fill(b, "f-triggers[0].gitConfiguration.push[2].tags.includes", "release-*")
	if got, want := inJSON(b, "three push filters", ".triggers[0].gitConfiguration.push"),
		`[{"tags":{"includes":["v*"]}},{"branches":{"includes":["main"]}},{"tags":{"includes":["release-*"]}}]`; got != want {
		t.Fatalf("the push filters in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("three filters are valid", poll(noProblems))
	b.screenshot("three-filters")
	b.run("removing the second",
		chromedp.Click(chromedp.CSS(byID("b-triggers[0].gitConfiguration.push[1].remove"))),
		poll(`document.getElementById('f-triggers[0].gitConfiguration.push[1].tags.includes')?.value === 'release-*' &&
			!document.getElementById('f-triggers[0].gitConfiguration.push[2].tags.includes') &&
			!document.querySelector('`+addPush+`').disabled`))
	if got, want := inJSON(b, "two push filters", ".triggers[0].gitConfiguration.push"),
		`[{"tags":{"includes":["v*"]}},{"tags":{"includes":["release-*"]}}]`; got != want {
		t.Fatalf("the push filters in the JSON after the removal:\n got %s\nwant %s", got, want)
	}
	// The first filter edited after the form was built: the second's
	// Remove still takes the second out.
	fill(b, "f-triggers[0].gitConfiguration.push[0].tags.includes", "v2*")
	b.run("removing the second again", chromedp.Click(chromedp.CSS(byID("b-triggers[0].gitConfiguration.push[1].remove"))))
	if got, want := inJSON(b, "one push filter", ".triggers[0].gitConfiguration.push"), `[{"tags":{"includes":["v2*"]}}]`; got != want {
		t.Fatalf("the push filters in the JSON after the second removal:\n got %s\nwant %s", got, want)
	}
	// A pull request filter added to the one the JSON gave.
	b.run("a second pull request filter",
		chromedp.Click(chromedp.CSS(byID("b-triggers[0].gitConfiguration.pullRequest.add"))),
		poll(`document.activeElement.id === 'f-triggers[0].gitConfiguration.pullRequest[1].events'`),
		chromedp.Click(chromedp.CSS(byID("f-triggers[0].gitConfiguration.pullRequest[1].events")+` input[value="OPEN"]`)))
	if got, want := inJSON(b, "two pull request filters", ".triggers[0].gitConfiguration.pullRequest"),
		`[{"events":["CLOSED"]},{"events":["OPEN"]}]`; got != want {
		t.Fatalf("the pull request filters in the JSON:\n got %s\nwant %s", got, want)
	}
	b.run("valid at the end", poll(noProblems))
}

// TestConsoleBrowserEditorNamePolicy: a caller allowed to create only
// pipelines named team-* is asked about the name typed: no Save for
// another name, Save for one of its own, and the pipeline is created.
func TestConsoleBrowserEditorNamePolicy(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	policy, err := json.Marshal(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["codepipeline:CreatePipeline", "codepipeline:GetPipeline"], "Resource": "arn:aws:codepipeline:*:*:team-*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var key service.CreateAccessKeyOutput
	if code := s.post(t, "/v1/keys", `{"user": "team", "policies": [{"name": "AWSCodePipeline_ReadOnlyAccess"},
	  {"name": "team-pipelines", "document": `+string(policy)+`}]}`, &key); code != 201 {
		t.Fatalf("POST /v1/keys: %d %+v", code, key)
	}
	b := newBrowserTest(t, s, "console-editor-name-policy")
	b.signIn(aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey})
	saves := func() int { return eval[int](b, "counting", `document.querySelectorAll('#ed-save, #ed-check').length`) }
	b.run("the editor, no name yet",
		chromedp.Navigate(s.endpoint+"/console/#/new"),
		poll(`document.getElementById('ed-denied')?.textContent.includes('on every name')`))
	if n := saves(); n != 0 {
		t.Fatalf("%d Check/Save buttons before a name", n)
	}
	fill(b, "ed-json", `{"name": "other", "pipelineType": "V2", "stages": [{"name": "Build",
	  "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]}`)
	b.run("a name the policy does not allow",
		poll(`document.getElementById('ed-denied').textContent.includes('on a pipeline named "other"')`))
	if n := saves(); n != 0 {
		t.Fatalf("%d Check/Save buttons for a name the policy does not allow", n)
	}
	fill(b, "f-name", "team-a")
	b.run("a name it allows",
		visible(`#ed-save`),
		poll(`document.getElementById('ed-denied').hidden`),
		poll(noProblems))
	b.screenshot("allowed")
	b.run("creating", chromedp.Click(chromedp.CSS(`#ed-save`)),
		poll(`location.hash === '#/pipelines/team-a'`))
	if code := s.get(t, "/v1/pipelines/team-a", nil); code != 200 {
		t.Fatalf("GET team-a: %d", code)
	}
	// Back to a name it does not allow: no Save again.
	b.run("the editor again", chromedp.Navigate(s.endpoint+"/console/#/new"),
		poll(`document.getElementById('ed-denied')?.textContent.includes('on every name')`))
	fill(b, "ed-json", `{"name": "team-b", "pipelineType": "V2", "stages": []}`)
	b.run("allowed", visible(`#ed-save`))
	fill(b, "f-name", "x-team-b")
	b.run("not allowed", poll(`!document.getElementById('ed-save') && !document.getElementById('ed-denied').hidden`))
}
