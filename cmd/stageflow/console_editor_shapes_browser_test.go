package main

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleBrowserEditorShapes: JSON typed in the editor that parses
// but holds a member of the wrong kind (a number for a stage, text for a
// list) is named under the JSON, the form keeps the last valid document,
// Save refuses, and nothing throws in the page. A document the form can
// show brings it back.
func TestConsoleBrowserEditorShapes(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-editor-shapes")
	b.signIn(s.creds)
	b.run("the editor", chromedp.Navigate(s.endpoint+"/console/#/new"), visible(`#ed-save`))
	fill(b, "ed-json", `{"name": "shapes", "pipelineType": "V2", "stages": [{"name": "Keep", "actions": []}]}`)
	b.run("a valid document", poll(`document.getElementById('f-stages[0].name')?.value === 'Keep'`))

	for _, tc := range []struct{ doc, says string }{
		{`{"name": "x", "stages": [1]}`, "stages[0] must be an object"},
		{`{"name": "x", "stages": "Build"}`, "stages must be a list"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [7]}]}`, "stages[0].actions[0] must be an object"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [{"name": "B", "actionTypeId": "Commands"}]}]}`, "stages[0].actions[0].actionTypeId must be an object"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [{"name": "B", "configuration": {"K": ["v"]}}]}]}`, "stages[0].actions[0].configuration.K must be a single value"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [{"name": "B", "commands": "make"}]}]}`, "stages[0].actions[0].commands must be a list"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [], "beforeEntry": {"conditions": [3]}}]}`, "stages[0].beforeEntry.conditions[0] must be an object"},
		{`{"name": "x", "stages": [{"name": "A", "actions": [], "onSuccess": {"conditions": [{"rules": [null]}]}}]}`, "stages[0].onSuccess.conditions[0].rules[0] must be an object"},
		{`{"name": "x", "stages": [], "variables": [1]}`, "variables[0] must be an object"},
		{`{"name": "x", "stages": [], "triggers": [{"gitConfiguration": {"push": [{"branches": {"includes": "main"}}]}}]}`, "triggers[0].gitConfiguration.push[0].branches.includes must be a list"},
		{`{"name": {"first": "x"}, "stages": []}`, "name must be a single value"},
	} {
		fill(b, "ed-json", tc.doc)
		says, _ := json.Marshal("The form cannot show this document: " + tc.says)
		b.run(tc.says, poll(`document.getElementById('ed-json-status').textContent.startsWith(`+string(says)+`) &&
			document.getElementById('ed-json').getAttribute('aria-invalid') === 'true' &&
			document.getElementById('f-stages[0].name')?.value === 'Keep'`))
		if ex := b.pageExceptions(); ex != "" {
			t.Fatalf("%s: the page threw: %s", tc.doc, ex)
		}
	}
	b.screenshot("refused")
	b.run("Save refuses", chromedp.Click(chromedp.CSS(`#ed-save`)),
		poll(`document.getElementById('ed-status').textContent === 'Fix the JSON first: it is not valid.'`))
	if code := s.get(t, "/v1/pipelines/x", nil); code != 404 {
		t.Fatalf("GET x after a refused save: %d, want 404", code)
	}

	fill(b, "ed-json", `{"name": "shapes", "pipelineType": "V2", "stages": [{"name": "Again", "actions": []}]}`)
	b.run("the form again", poll(`document.getElementById('f-stages[0].name')?.value === 'Again' &&
		document.getElementById('ed-json-status').textContent === 'The JSON and the form show the same document.'`))
}
