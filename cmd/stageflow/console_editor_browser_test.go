package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/chromedp"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// The pipeline editor's browser tests: create a pipeline in the visual
// editor (a problem the server finds shown on its field first), run it,
// edit it into version 2 and compare the versions.

// byID is a CSS selector for an element id with any characters in it
// (the editor's ids are JSON paths: f-stages[0].actions[1].commands).
func byID(id string) string { return `[id="` + id + `"]` }

// jsID is id as a JavaScript string literal.
func jsID(id string) string {
	b, _ := json.Marshal(id)
	return string(b)
}

// inJSON is a member of the document in the editor's JSON pane (expr:
// a JavaScript member path such as .stages[0]), as JSON text.
func inJSON(b *browserTest, what, expr string) string {
	b.t.Helper()
	return eval[string](b, what, `JSON.stringify(JSON.parse(document.getElementById('ed-json').value)`+expr+`)`)
}

// fill sets a form control's value as typing would, firing its input
// event (SendKeys types into an empty field; this replaces a value).
func fill(b *browserTest, id, value string) {
	b.t.Helper()
	v, _ := json.Marshal(value)
	if !eval[bool](b, "filling "+id, `(() => {
		const el = document.getElementById(`+jsID(id)+`);
		if (!el) return false;
		el.focus();
		el.value = `+string(v)+`;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})()`) {
		b.t.Fatalf("no field %s", id)
	}
}

// choose picks an option of a select, as a user would, firing its change
// event.
func choose(b *browserTest, id, value string) {
	b.t.Helper()
	v, _ := json.Marshal(value)
	if !eval[bool](b, "choosing "+value+" in "+id, `(() => {
		const el = document.getElementById(`+jsID(id)+`);
		if (!el || ![...el.options].some(o => o.value === `+string(v)+`)) return false;
		el.focus();
		el.value = `+string(v)+`;
		el.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`) {
		b.t.Fatalf("no option %s in %s", value, id)
	}
}

// invalidAt is true in the page once the field id is marked invalid with
// a message containing msg next to it and in the list of problems.
func invalidAt(id, path, msg string) string {
	m, _ := json.Marshal(msg)
	p, _ := json.Marshal(path)
	return `(() => {
		const el = document.getElementById(` + jsID(id) + `);
		if (!el || el.getAttribute('aria-invalid') !== 'true') return false;
		const err = (el.getAttribute('aria-describedby') || '').split(' ').map(id => document.getElementById(id))
			.find(e => e && e.classList.contains('field-error') && e.textContent.includes(` + string(m) + `));
		const li = [...document.querySelectorAll('#ed-problems li')].find(li => li.dataset.path === ` + string(p) + `);
		return !!err &&
			!!li && li.textContent.includes(` + string(m) + `) && !document.getElementById('ed-problems').hidden;
	})()`
}

const noProblems = `document.getElementById('ed-problems').hidden && !document.querySelector('.ed-form [aria-invalid]') &&
	document.getElementById('ed-status').textContent === 'The server finds no problem in this pipeline.'`

// TestConsoleBrowserEditor: create a pipeline in the visual editor, see
// the server's problem on the field it names, fix it, save, start the
// pipeline and watch it succeed; then edit it (add an action, reorder with
// the keyboard, the JSON and the form in sync both ways), save version 2
// and see the added lines in the diff against version 1.
func TestConsoleBrowserEditor(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	began := time.Now()
	b := newBrowserTest(t, s, "console-editor")
	b.signIn(s.creds)

	// From the list to an empty editor.
	b.run("opening the editor from the list",
		visible(`#create-pipeline`),
		chromedp.Click(chromedp.CSS(`#create-pipeline`)),
		visible(`#ed-json`), visible(`#ed-save`),
		poll(`location.hash === '#/new'`))
	b.run("naming the pipeline, adding a stage and an action",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "made-in-editor"),
		chromedp.Click(chromedp.CSS(`#b-stages\.add`)),
		visible(byID("f-stages[0].name")),
		poll(`document.activeElement.id === 'f-stages[0].name'`))
	fill(b, "f-stages[0].name", "Build")
	b.run("adding an action",
		chromedp.Click(chromedp.CSS(byID("b-stages[0].actions.add"))),
		visible(byID("f-stages[0].actions[0].name")))
	fill(b, "f-stages[0].actions[0].name", "Compile")
	// The provider is offered from the server's action types: Commands
	// first, the form builds CodeBuild's configuration from its properties.
	type providerInfo struct {
		Options     []string
		Selected    string
		HasCommands bool
	}
	pi := eval[providerInfo](b, "reading the provider", `(() => {
		const sel = document.getElementById('f-stages[0].actions[0].actionTypeId');
		return {Options: [...sel.options].map(o => o.value), Selected: sel.value,
			HasCommands: !!document.getElementById('f-stages[0].actions[0].commands')};
	})()`)
	if pi.Selected != "Compute/AWS/Commands/1" || !pi.HasCommands || !strings.Contains(strings.Join(pi.Options, ","), "Build/AWS/CodeBuild/1") {
		t.Fatalf("provider: %+v", pi)
	}
	choose(b, "f-stages[0].actions[0].actionTypeId", "Build/AWS/CodeBuild/1")
	b.run("choosing CodeBuild: its configuration form",
		visible(byID("f-stages[0].actions[0].configuration.ProjectName")),
		poll(`document.getElementById('f-stages[0].actions[0].configuration.ProjectName').required &&
			document.querySelector('label[for="f-stages[0].actions[0].configuration.ProjectName"]').textContent === 'ProjectName (required)' &&
			!document.getElementById('f-stages[0].actions[0].commands') &&
			JSON.parse(document.getElementById('ed-json').value).stages[0].actions[0].actionTypeId.provider === 'CodeBuild'`))
	choose(b, "f-stages[0].actions[0].actionTypeId", "Compute/AWS/Commands/1")
	b.run("back to Commands",
		visible(byID("f-stages[0].actions[0].commands")))

	// The server checks as one types: a Commands action without commands
	// is refused, on the commands field.
	b.run("the server's problem on its field",
		poll(invalidAt("f-stages[0].actions[0].commands", "stages[0].actions[0].commands", "a Commands action needs at least one command")))
	b.screenshot("problem")
	b.run("the problem's link focuses the field",
		chromedp.Click(chromedp.CSS(`#ed-problems li[data-path="stages[0].actions[0].commands"] button`)),
		poll(`document.activeElement.id === 'f-stages[0].actions[0].commands'`))
	fill(b, "f-stages[0].actions[0].commands", "echo compiled\nsleep 1")
	b.run("the problem fixed", poll(noProblems))

	// The JSON follows the form; invalid JSON leaves the form as it was.
	type doc struct {
		Name   string `json:"name"`
		Stages []struct {
			Name    string `json:"name"`
			Actions []struct {
				Name     string   `json:"name"`
				Commands []string `json:"commands"`
				RunOrder int      `json:"runOrder"`
			} `json:"actions"`
		} `json:"stages"`
	}
	var d doc
	if err := json.Unmarshal([]byte(eval[string](b, "reading the JSON", `document.getElementById('ed-json').value`)), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "made-in-editor" || len(d.Stages) != 1 || d.Stages[0].Name != "Build" || len(d.Stages[0].Actions) != 1 ||
		d.Stages[0].Actions[0].Name != "Compile" || strings.Join(d.Stages[0].Actions[0].Commands, ";") != "echo compiled;sleep 1" {
		t.Fatalf("the JSON: %+v", d)
	}
	fill(b, "ed-json", `{"name": "made-in-editor", "stages": [`)
	b.run("invalid JSON",
		poll(`document.getElementById('ed-json').getAttribute('aria-invalid') === 'true' &&
			document.getElementById('ed-json-status').textContent.startsWith('The JSON is not valid') &&
			document.getElementById('f-stages[0].name').value === 'Build'`))
	fill(b, "ed-json", editedJSON)
	b.run("the form follows valid JSON",
		poll(`!document.getElementById('ed-json').hasAttribute('aria-invalid') &&
			document.getElementById('f-stages[0].name').value === 'Build' &&
			document.getElementById('f-stages[0].actions[0].commands').value === 'echo compiled\nsleep 1' &&
			document.getElementById('f-variables[0].name')?.value === 'TARGET'`),
		poll(noProblems))
	b.screenshot("create")

	b.run("creating",
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		poll(`location.hash === '#/pipelines/made-in-editor'`),
		visible(`.card[data-action="Compile"]`))
	var got service.GetPipelineOutput
	if code := s.get(t, "/v1/pipelines/made-in-editor", &got); code != 200 || got.Pipeline.Version == nil || *got.Pipeline.Version != 1 ||
		len(got.Pipeline.Variables) != 1 || got.Pipeline.Variables[0].Name != "TARGET" {
		t.Fatalf("after creating: %d %+v", code, got.Pipeline)
	}

	// Start it and watch it succeed live.
	b.run("starting",
		visible(`#start`),
		chromedp.Click(chromedp.CSS(`#start`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`location.hash.includes('/executions/')`),
		visible(`.card[data-action="Compile"][data-status="Succeeded"]`),
		poll(`document.querySelector('#exec-status')?.textContent === 'Succeeded'`))
	id := eval[string](b, "reading the execution", `location.hash.split('/').pop()`)
	s.waitExecution(t, "made-in-editor", id, "the execution to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })

	// Edit: add an action, move it up and down with the keyboard.
	b.run("opening the editor from the pipeline",
		chromedp.Click(chromedp.CSS(`#edit-pipeline`)),
		poll(`location.hash === '#/pipelines/made-in-editor/edit'`),
		visible(byID("f-stages[0].actions[0].commands")),
		poll(`document.getElementById('ed-save').textContent === 'Save as version 2' && document.getElementById('f-name').readOnly`),
		chromedp.Click(chromedp.CSS(byID("b-stages[0].actions.add"))),
		visible(byID("f-stages[0].actions[1].name")))
	fill(b, "f-stages[0].actions[1].name", "Package")
	fill(b, "f-stages[0].actions[1].commands", "echo packaged")
	fill(b, "f-stages[0].actions[1].runOrder", "2")
	names := `JSON.parse(document.getElementById('ed-json').value).stages[0].actions.map(a => a.name).join(',')`
	b.run("moving Package up with the keyboard",
		chromedp.Focus(chromedp.CSS(byID("b-stages[0].actions[1].up"))),
		chromedp.KeyEvent("\r"),
		poll(names+` === 'Package,Compile'`),
		poll(`document.activeElement.id === 'f-stages[0].actions[0].name' && document.activeElement.value === 'Package'`),
		chromedp.Focus(chromedp.CSS(byID("b-stages[0].actions[0].down"))),
		chromedp.KeyEvent(" "),
		poll(names+` === 'Compile,Package'`),
		poll(`document.getElementById('f-stages[0].actions[1].name').value === 'Package'`),
		poll(noProblems))
	b.screenshot("edit")
	b.run("saving version 2",
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		poll(`location.hash === '#/pipelines/made-in-editor'`),
		poll(`document.querySelector('h1 .version')?.textContent === 'version 2'`))
	if code := s.get(t, "/v1/pipelines/made-in-editor", &got); code != 200 || *got.Pipeline.Version != 2 || len(got.Pipeline.Stages[0].Actions) != 2 ||
		got.Pipeline.Stages[0].Actions[1].Name != "Package" || *got.Pipeline.Stages[0].Actions[1].RunOrder != 2 {
		t.Fatalf("version 2: %d %+v", code, got.Pipeline)
	}

	// The diff of version 1 against the latest.
	b.run("comparing the versions",
		chromedp.Click(chromedp.CSS(`#pipeline-versions`)),
		poll(`location.hash === '#/pipelines/made-in-editor/versions'`),
		visible(`#diff`),
		poll(`document.getElementById('version-from').value === '1'`))
	type diffInfo struct {
		Added, Removed []string
		Status         string
		Marks          string
	}
	di := eval[diffInfo](b, "reading the diff", `({
		Added: [...document.querySelectorAll('#diff li.diff-add .diff-text')].map(e => e.textContent.trim()),
		Removed: [...document.querySelectorAll('#diff li.diff-del .diff-text')].map(e => e.textContent.trim()),
		Status: document.getElementById('versions-status').textContent,
		Marks: [...document.querySelectorAll('#diff li.diff-add .sr-only, #diff li.diff-add .diff-mark')].map(e => e.textContent).slice(0, 2).join('|')})`)
	added := strings.Join(di.Added, "\n")
	for _, want := range []string{`"name": "Package",`, `"runOrder": 2,`, `"echo packaged"`} {
		if !strings.Contains(added, want) {
			t.Errorf("the added lines lack %s:\n%s", want, added)
		}
	}
	// Adding an action to the end of a list is only added lines (its
	// opening "}," and "{" among them).
	if strings.Contains(added, `"name": "Compile"`) || len(di.Added) != 13 || len(di.Removed) != 0 || di.Marks != "+|added: " {
		t.Errorf("diff: %+v", di)
	}
	if di.Status != "Version 1 → version 2: 13 lines added, 0 removed." {
		t.Errorf("status %q", di.Status)
	}
	b.screenshot("diff")
	t.Logf("the editor's browser test took %s", time.Since(began).Round(time.Millisecond))
}

// editedJSON is the document typed into the JSON: the same pipeline with
// a variable, which the form then shows.
const editedJSON = `{"name": "made-in-editor", "pipelineType": "V2",
  "variables": [{"name": "TARGET", "defaultValue": "staging"}],
  "stages": [{"name": "Build", "actions": [
    {"name": "Compile", "runOrder": 1, "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo compiled", "sleep 1"]}]}]}`

// TestConsoleBrowserEditorPolicy: a caller whose policy allows reading
// only sees no Create pipeline and no Edit, and the editor, opened by its
// address, offers no Check or Save.
func TestConsoleBrowserEditorPolicy(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	var key service.CreateAccessKeyOutput
	if code := s.post(t, "/v1/keys", `{"user": "viewer", "policies": [{"name": "AWSCodePipeline_ReadOnlyAccess"}]}`, &key); code != 201 {
		t.Fatalf("POST /v1/keys: %d %+v", code, key)
	}
	b := newBrowserTest(t, s, "console-editor-policy")
	b.signIn(aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey})
	b.run("the list and the pipeline as a viewer",
		visible(`tr[data-pipeline="nightly-report"]`),
		poll(`document.querySelector('main .title-row').dataset.checked === 'true'`),
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/nightly-report"),
		visible(`.card[data-action="Write"]`),
		visible(`#pipeline-versions`))
	if n := eval[int](b, "counting", `document.querySelectorAll('#edit-pipeline').length`); n != 0 {
		t.Fatal("a viewer is shown Edit")
	}
	b.run("the editor as a viewer",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/nightly-report/edit"),
		visible(`#ed-denied`),
		visible(byID("f-stages[0].actions[0].commands")))
	if n := eval[int](b, "counting", `document.querySelectorAll('#ed-save, #ed-check').length`); n != 0 {
		t.Fatalf("a viewer is shown %d Check/Save buttons", n)
	}
	b.run("back to the list", chromedp.Navigate(s.endpoint+"/console/#/"), visible(`tr[data-pipeline="nightly-report"]`),
		poll(`document.querySelector('main .title-row').dataset.checked === 'true'`))
	if n := eval[int](b, "counting", `document.querySelectorAll('#create-pipeline').length`); n != 0 {
		t.Fatal("a viewer is shown Create pipeline")
	}
}

// TestConsoleBrowserDiff: the console's line diff (diff.js), run in the
// page: each script turns the old lines into the new ones, and is as short
// as a longest common subsequence allows (checked against one computed by
// dynamic programming on random inputs); unchanged runs fold around the
// changes.
func TestConsoleBrowserDiff(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-diff")
	b.signIn(s.creds)
	tests := []struct {
		A, B  string // lines, one a character
		Edits int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "a", 1}, {"abc", "abc", 0}, {"abcabba", "cbabac", 5},
		{"xay", "xby", 2}, {"123", "12n3", 1}, {"abc", "xyz", 6}, {"aaaa", "aa", 2},
	}
	cases, _ := json.Marshal(tests)
	failures, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(async () => {
		const { diffLines, hunks } = await import('/console/assets/diff.js');
		const fails = [];
		const check = (a, b, want) => {
			const d = diffLines(a, b);
			const edits = d.filter(l => l.op !== '=').length;
			const after = d.filter(l => l.op !== '-').map(l => l.text).join('');
			const before = d.filter(l => l.op !== '+').map(l => l.text).join('');
			if (after !== b.join('') || before !== a.join('') || (want >= 0 && edits !== want)) {
				fails.push(a.join('') + ' → ' + b.join('') + ': ' + JSON.stringify(d) + ' (want ' + want + ' edits)');
			}
		};
		for (const c of `+string(cases)+`) check([...c.A], [...c.B], c.Edits);
		let seed = 7;
		const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
		for (let r = 0; r < 500; r++) {
			const gen = () => Array.from({ length: rnd(12) }, () => 'abc'[rnd(3)]);
			const a = gen(), b = gen();
			const L = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
			for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--)
				L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
			check(a, b, a.length + b.length - 2 * L[0][0]);
		}
		const folded = hunks(diffLines([...'0123456789'], [...'01234x56789']), 2).map(l => l.op === '…' ? l.count : l.op).join(',');
		if (folded !== '3,=,=,+,=,=,3') fails.push('hunks: ' + folded);
		return fails;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running diff.js: %v (the page threw: %s)", err, b.pageExceptions())
	}
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), strings.Join(failures[:min(3, len(failures))], "; "))
	}
}

// TestConsoleBrowserEditorForm: the form's other parts. A custom action
// type's configuration form marks its required property and asks for its
// secret one as a password; a stage without actions is refused on its Add
// action button and removed; a trigger without a source action is refused
// on that field; variables are added and removed; the list of problems
// follows each check.
func TestConsoleBrowserEditorForm(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	req, err := http.NewRequest("POST", s.endpoint+"/", strings.NewReader(`{"category": "Deploy", "provider": "EditorWorker", "version": "1",
	  "configurationProperties": [{"name": "Target", "required": true, "key": true, "secret": false, "description": "Where to deploy."},
	    {"name": "Token", "required": false, "key": false, "secret": true}],
	  "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}, "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodePipeline_20150709.CreateCustomActionType")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("CreateCustomActionType: %d", resp.StatusCode)
	}
	b := newBrowserTest(t, s, "console-editor-form")
	b.signIn(s.creds)
	b.run("a new pipeline with a stage and an action",
		chromedp.Navigate(s.endpoint+"/console/#/new"),
		visible(`#ed-save`),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "form-parts"),
		chromedp.Click(chromedp.CSS(`#b-stages\.add`)),
		visible(byID("b-stages[0].actions.add")),
		chromedp.Click(chromedp.CSS(byID("b-stages[0].actions.add"))),
		visible(byID("f-stages[0].actions[0].commands")))
	fill(b, "f-stages[0].actions[0].commands", "echo hi")
	choose(b, "f-stages[0].actions[0].actionTypeId", "Deploy/Custom/EditorWorker/1")
	type prop struct {
		Type, Label string
		Required    bool
		Hint        string
	}
	props := eval[[]prop](b, "reading the configuration form", `['Target', 'Token'].map(k => {
		const el = document.getElementById('f-stages[0].actions[0].configuration.' + k);
		if (!el) return {};
		const hint = document.getElementById((el.getAttribute('aria-describedby') || '').split(' ')[0]);
		return {Type: el.type, Required: el.required, Label: document.querySelector('label[for="' + el.id + '"]').textContent, Hint: hint ? hint.textContent : ''};
	})`)
	if len(props) != 2 || props[0] != (prop{"text", "Target (required)", true, "Where to deploy."}) || props[1] != (prop{"password", "Token (secret)", false, ""}) {
		t.Fatalf("the configuration form: %+v", props)
	}
	if eval[bool](b, "the commands", `!!document.getElementById('f-stages[0].actions[0].commands') || 'commands' in JSON.parse(document.getElementById('ed-json').value).stages[0].actions[0]`) {
		t.Fatal("a custom action kept the Commands action's commands")
	}
	fill(b, "f-stages[0].actions[0].configuration.Target", "staging")
	fill(b, "f-stages[0].actions[0].configuration.Token", "s3cret")
	if got := inJSON(b, "the JSON", ".stages[0].actions[0].configuration"); got != `{"Target":"staging","Token":"s3cret"}` {
		t.Fatalf("configuration in the JSON: %s", got)
	}
	b.run("the custom action is valid", poll(noProblems))

	// A second stage without actions: refused on its Add action button.
	b.run("a stage without actions",
		chromedp.Click(chromedp.CSS(`#b-stages\.add`)),
		visible(byID("b-stages[1].actions.add")),
		poll(invalidAt("b-stages[1].actions.add", "stages[1].actions", "must have at least one action")))
	b.screenshot("empty-stage")
	b.run("removing it",
		chromedp.Click(chromedp.CSS(byID("b-stages[1].remove"))),
		chromedp.WaitNotPresent(chromedp.CSS(byID("f-stages[1].name"))),
		poll(`document.activeElement.id === 'b-stages.add'`),
		poll(noProblems))

	// A trigger needs its source action.
	b.run("a trigger",
		chromedp.Click(chromedp.CSS(`#b-triggers\.add`)),
		visible(byID("f-triggers[0].gitConfiguration.sourceActionName")),
		poll(`document.activeElement.id === 'f-triggers[0].gitConfiguration.sourceActionName'`),
		poll(`[...document.querySelectorAll('#ed-problems li')].some(li => li.dataset.path.startsWith('triggers[0]')) &&
			document.getElementById('f-triggers[0].gitConfiguration.sourceActionName').getAttribute('aria-invalid') === 'true'`))
	b.screenshot("trigger")
	b.run("removing the trigger, adding and removing a variable",
		chromedp.Click(chromedp.CSS(byID("b-triggers[0].remove"))),
		chromedp.WaitNotPresent(chromedp.CSS(byID("f-triggers[0].gitConfiguration.sourceActionName"))),
		chromedp.Click(chromedp.CSS(`#b-variables\.add`)),
		visible(byID("f-variables[0].name")),
		poll(`JSON.parse(document.getElementById('ed-json').value).variables[0].name === 'VARIABLE_1'`),
		chromedp.Click(chromedp.CSS(byID("b-variables[0].remove"))),
		poll(`!('variables' in JSON.parse(document.getElementById('ed-json').value)) && !('triggers' in JSON.parse(document.getElementById('ed-json').value))`),
		poll(noProblems))

	// Names are text, never markup; a member the form has no field for is
	// shown on the nearest field that holds it.
	fill(b, "ed-json", `{"name": "form-parts", "pipelineType": "V2", "stages": [{"name": "<img src=x onerror=alert(1)>", "colour": "red",
	  "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]}`)
	b.run("hostile names and an unknown member",
		poll(`document.getElementById('f-stages[0].name').value === '<img src=x onerror=alert(1)>' &&
			document.querySelector('.ed-stage legend').textContent === 'Stage 1: <img src=x onerror=alert(1)>' && !document.querySelector('main img')`),
		poll(invalidAt("f-stages[0].name", "stages[0].colour", `unknown field "colour"`)))
}
