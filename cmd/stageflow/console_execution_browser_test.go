package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// The console's execution detail (waterfall, trigger, revisions), history,
// rollback and condition override from the page, and the `?` overlay.

// releasePipeline: a CodeCommit source (a local repository), a build with
// two parallel actions then a third, and a deploy stage to roll back.
const releasePipeline = `{"pipeline": {"name": "release", "pipelineType": "V2", "stages": [
  {"name": "Source", "actions": [{"name": "Checkout",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "my-app", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "Code"}]}]},
  {"name": "Build", "actions": [
    {"name": "Compile", "runOrder": 1, "inputArtifacts": [{"name": "Code"}],
     "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["sleep 2", "echo compiled"]},
    {"name": "Lint", "runOrder": 1, "inputArtifacts": [{"name": "Code"}],
     "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo linted"]},
    {"name": "Package", "runOrder": 2, "inputArtifacts": [{"name": "Code"}],
     "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo packaged"]}]},
  {"name": "Deploy", "actions": [{"name": "Ship", "inputArtifacts": [{"name": "Code"}],
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["echo shipped"]}]}]}}`

// pressKey presses a printable key as a keyboard does: one keyDown that
// carries its text (Chromium types it unless the page prevents the
// keydown's default), then keyUp. chromedp.KeyEvent sends the text as a
// separate char event, which types even after a prevented keydown.
func pressKey(r rune) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		k := kb.Keys[r]
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: k.Key, Code: k.Code, WindowsVirtualKeyCode: k.Windows, NativeVirtualKeyCode: k.Native}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = k.Text, k.Unmodified
			}
			if k.Shift {
				p.Modifiers = int64(chromedp.ModifierShift)
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// latestExecution is the newest execution of a pipeline, or "".
func latestExecution(t *testing.T, s *server, pipeline string) string {
	t.Helper()
	var page service.ListPipelineExecutionsOutput
	if code := s.get(t, "/v1/pipelines/"+pipeline+"/executions?maxResults=1", &page); code != 200 {
		t.Fatalf("executions of %s: HTTP %d", pipeline, code)
	}
	if len(page.PipelineExecutionSummaries) == 0 {
		return ""
	}
	return page.PipelineExecutionSummaries[0].PipelineExecutionID
}

// TestConsoleBrowserExecution: an execution's detail shows one waterfall
// bar per action run, placed by start and sized by duration, its trigger
// and source revision; the history lists both executions; a stage rolled
// back from the page to the first execution starts a rollback execution.
func TestConsoleBrowserExecution(t *testing.T) {
	s := startConsoleServer(t)
	repo := t.TempDir()
	gitIn(t, repo, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(repo, "app.txt"), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, repo, "add", ".")
	gitIn(t, repo, "commit", "-q", "-m", "first release\n\nwith a body")
	head := gitIn(t, repo, "rev-parse", "HEAD")
	if code, out := cliAs(t, s, nil, "repository", "create", "my-app", "--remote", repo); code != 0 {
		t.Fatalf("repository create: %d %s", code, out)
	}
	// Creating the pipeline starts its first execution (CreatePipeline).
	if code := s.post(t, "/v1/pipelines", releasePipeline, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	first := ""
	for deadline := time.Now().Add(30 * time.Second); first == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		first = latestExecution(t, s, "release")
	}
	if first == "" {
		t.Fatal("creating the pipeline started no execution")
	}
	e1 := s.waitExecution(t, "release", first, "the first execution", func(e *engine.Execution) bool { return e.Status.Terminal() })
	if e1.Status != engine.Succeeded {
		t.Fatalf("the first execution: %s %s", e1.Status, e1.StatusSummary)
	}
	var second rest.RESTExecutionID
	if code := s.post(t, "/v1/pipelines/release/executions", "{}", &second); code != 201 {
		t.Fatalf("start: %d", code)
	}
	s.waitExecution(t, "release", second.PipelineExecutionID, "the second execution", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })

	b := newBrowserTest(t, s, "console-execution")
	b.signIn(s.creds)
	b.run("opening the first execution",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/release/executions/"+first),
		visible(`#timeline li[data-action="Ship"][data-status="Succeeded"]`))

	type bar struct {
		Action, Status, Text string
		Left, Width          float64
		PixelWidth           float64
	}
	bars := eval[[]bar](b, "reading the waterfall", `[...document.querySelectorAll('#timeline li')].map(li => ({
		Action: li.dataset.action, Status: li.dataset.status, Text: li.querySelector('.wf-text').textContent,
		Left: Number(li.dataset.left), Width: Number(li.dataset.width),
		PixelWidth: li.querySelector('.wf-bar').getBoundingClientRect().width}))`)
	byAction := map[string]bar{}
	for _, br := range bars {
		byAction[br.Action] = br
		if br.Status != "Succeeded" || !strings.HasPrefix(br.Text, "Succeeded · starts at +") || br.Left < 0 || br.Width < 0 || br.Left+br.Width > 1.0001 {
			t.Errorf("bar %+v", br)
		}
	}
	if len(bars) != 5 || len(byAction) != 5 {
		t.Fatalf("the waterfall has %d bars, want one per action run (5): %+v", len(bars), bars)
	}
	c, l, p, src, ship := byAction["Compile"], byAction["Lint"], byAction["Package"], byAction["Checkout"], byAction["Ship"]
	// Compile sleeps 2 s: it is the widest bar, over a third of the run;
	// Lint runs beside it; Package starts after both; Ship comes last.
	if c.Width < 0.3 || c.Width <= l.Width || c.PixelWidth <= l.PixelWidth || c.PixelWidth < 50 ||
		p.Left < c.Left+c.Width-0.02 || ship.Left < p.Left || src.Left > c.Left || l.Left < src.Left {
		t.Fatalf("implausible waterfall: %+v", byAction)
	}
	type facts struct{ Trigger, Revisions string }
	f := eval[facts](b, "reading the facts", `({Trigger: document.querySelector('#exec-facts [data-fact="trigger"]')?.textContent || '',
		Revisions: document.querySelector('#exec-facts [data-fact="revisions"]')?.textContent || ''})`)
	if !strings.HasPrefix(f.Trigger, "CreatePipeline") || !strings.Contains(f.Revisions, "Checkout: "+head[:12]) || !strings.Contains(f.Revisions, "first release") ||
		strings.Contains(f.Revisions, "with a body") {
		t.Fatalf("facts %+v (head %s)", f, head)
	}
	b.run("the history",
		poll(`document.querySelectorAll('#history li').length === 2 &&
			document.querySelector('#history li[data-execution="`+first+`"] a').getAttribute('aria-current') === 'page' &&
			document.querySelector('#history li[data-execution="`+first+`"] .h-rev').textContent.startsWith('`+head[:8]+` first release') &&
			document.querySelector('#history li[data-execution="`+second.PipelineExecutionID+`"] .h-trigger').textContent === 'StartPipelineExecution'`))
	b.screenshot("detail")

	// Rollback: offered on the stages that can be rolled back (not the
	// source stage), to this (not the newest) execution.
	if n := eval[int](b, "counting rollback buttons", `document.querySelectorAll('.stage[data-stage="Source"] button.rollback').length`); n != 0 {
		t.Fatal("a source stage offers a rollback")
	}
	b.run("rolling Deploy back to the first execution",
		chromedp.Click(chromedp.CSS(`.stage[data-stage="Deploy"] button.rollback`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`!location.hash.endsWith('/`+first+`') && !location.hash.endsWith('/`+second.PipelineExecutionID+`')`),
		poll(`document.querySelector('#exec-facts [data-fact="rollback"] a')?.textContent === '`+first+`'`),
		poll(`document.querySelector('#exec-status')?.textContent === 'Succeeded'`),
		poll(`document.querySelector('#exec-facts [data-fact="trigger"]').textContent.startsWith('ManualRollback')`),
		poll(`[...document.querySelectorAll('#timeline li')].map(li => li.dataset.action).join(',') === 'Ship'`),
		chromedp.WaitNotPresent(chromedp.CSS(`button.rollback`)))
	id := eval[string](b, "reading the rollback's ID", `location.hash.split('/').pop()`)
	rb := s.waitExecution(t, "release", id, "the rollback", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
	if rb.Rollback == nil || rb.Rollback.Target != first || rb.Rollback.Stage != "Deploy" {
		t.Fatalf("the rollback execution: %+v", rb.Rollback)
	}
	b.screenshot("rollback")

	// A read-only caller is offered no rollback.
	var key service.CreateAccessKeyOutput
	if code := s.post(t, "/v1/keys", `{"user": "viewer", "policies": [{"name": "AWSCodePipeline_ReadOnlyAccess"}]}`, &key); code != 201 {
		t.Fatalf("POST /v1/keys: %d", code)
	}
	v := newBrowserTest(t, s, "console-execution-viewer")
	v.signIn(aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey})
	v.run("the first execution as a viewer",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/release/executions/"+first),
		visible(`#timeline li[data-action="Ship"]`))
	if n := eval[int](v, "counting buttons", `document.querySelectorAll('button.rollback, button.override-condition').length`); n != 0 {
		t.Fatalf("a read-only caller is shown %d rollback/override buttons", n)
	}
}

// TestConsoleBrowserOverride: a running action's bar grows live; a stage
// waiting on its beforeEntry condition (a Commands rule that sleeps) is
// overridden from the page, and the execution goes on and succeeds.
func TestConsoleBrowserOverride(t *testing.T) {
	gated := `{"pipeline": {"name": "gated", "pipelineType": "V2", "stages": [
  {"name": "Build", "actions": [{"name": "Slow",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["sleep 4"]}]},
  {"name": "Deploy",
   "beforeEntry": {"conditions": [{"rules": [{"name": "Soak",
     "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["sleep 300"]}]}]},
   "actions": [{"name": "Ship",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["echo shipped"]}]}]}}`
	s := startConsoleServer(t, gated, consoleDemo)
	var started rest.RESTExecutionID
	if code := s.post(t, "/v1/pipelines/gated/executions", "{}", &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	id := started.PipelineExecutionID
	b := newBrowserTest(t, s, "console-override")
	b.signIn(s.creds)
	b.run("opening the running execution",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/gated/executions/"+id),
		visible(`#timeline li[data-action="Slow"][data-status="InProgress"]`))
	before := eval[string](b, "reading the running bar", `document.querySelector('#timeline li[data-action="Slow"] .wf-text').textContent`)
	b.run("the running bar grows",
		poll(`(() => { const li = document.querySelector('#timeline li[data-action="Slow"]');
			return li.dataset.status === 'InProgress' && li.querySelector('.wf-text').textContent !== `+fmt.Sprintf("%q", before)+` &&
				li.querySelector('.wf-bar').title.includes('InProgress'); })()`))
	b.run("waiting for the condition",
		poll(`document.querySelector('.stage[data-stage="Deploy"] .condition-state')?.textContent.startsWith('beforeEntry condition: InProgress')`),
		visible(`.stage[data-stage="Deploy"] button.override-condition[data-kind="BEFORE_ENTRY"]`),
		visible(`#timeline li[data-rule="true"][data-action="Soak"][data-status="InProgress"]`))
	b.screenshot("waiting")
	b.run("overriding it",
		chromedp.Click(chromedp.CSS(`.stage[data-stage="Deploy"] button.override-condition`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		visible(`.card[data-action="Ship"][data-status="Succeeded"]`),
		poll(`document.querySelector('#exec-status')?.textContent === 'Succeeded'`),
		poll(`document.querySelector('#exec-facts [data-fact="overrides"]')?.textContent.startsWith('Deploy beforeEntry: by ')`),
		poll(`document.querySelector('#timeline li[data-rule="true"][data-action="Soak"]')?.dataset.status === 'Abandoned'`),
		chromedp.WaitNotPresent(chromedp.CSS(`button.override-condition`)))
	e := s.waitExecution(t, "gated", id, "the execution to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
	if len(e.Conditions) != 1 || e.Conditions[0].Status != engine.Overridden || e.Conditions[0].OverriddenBy == "" {
		t.Fatalf("conditions after the override: %+v", e.Conditions)
	}
	b.screenshot("overridden")

	// Stopped from the page: the detail says by whom and why.
	if code := s.post(t, "/v1/pipelines/gated/executions", "{}", &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	b.run("stopping from the page",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/gated/executions/"+started.PipelineExecutionID),
		visible(`#timeline li[data-action="Slow"][data-status="InProgress"]`),
		chromedp.Click(chromedp.CSS(`#stop`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`document.querySelector('#exec-status')?.textContent === 'Stopped'`),
		poll(`document.querySelector('#exec-facts [data-fact="stop"]')?.textContent ===
			'stop and wait · ' + document.querySelector('#exec-facts [data-fact="stop"]').textContent.split(' · ')[1] +
			' · reason: Stopped from the console · by arn:aws:iam::000000000000:user/admin'`))
	stopped := s.waitExecution(t, "gated", started.PipelineExecutionID, "the stop", func(e *engine.Execution) bool { return e.Status == engine.Stopped })
	if stopped.Stop == nil || stopped.Stop.By != "arn:aws:iam::000000000000:user/admin" {
		t.Fatalf("the stop request: %+v", stopped.Stop)
	}
	b.screenshot("stopped")

	// Approved (here through the door): the detail says by whom, with the comment.
	if code := s.post(t, "/v1/pipelines/console-demo/executions", "{}", &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	s.waitExecution(t, "console-demo", started.PipelineExecutionID, "the approval", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Release", "Approve")
		return ok && r.Status == engine.InProgress
	})
	if code := s.post(t, "/v1/pipelines/console-demo/approvals", `{"stage": "Release", "action": "Approve", "status": "Approved", "summary": "ship it"}`, nil); code >= 300 {
		t.Fatalf("approve: HTTP %d", code)
	}
	b.run("the approval in the detail",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/console-demo/executions/"+started.PipelineExecutionID),
		poll(`document.querySelector('#exec-facts [data-approval="Release/Approve"]')?.textContent ===
			'Release/Approve: approved by arn:aws:iam::000000000000:user/admin' + 'ship it'`),
		poll(`document.querySelector('#exec-facts [data-fact="stop"]') === null`))
}

// TestConsoleBrowserHelp: `?` opens the shortcuts dialog (not while typing
// in a field), which keeps the focus and gives it back on Esc; `g a`, `g
// p` and `/` do what it says.
func TestConsoleBrowserHelp(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-help")
	b.signIn(s.creds)
	b.run("the list", visible(`tr[data-pipeline="nightly-report"]`))

	b.run("typing ? into the search", chromedp.Focus(chromedp.CSS(`#search`)), pressKey('?'))
	if eval[bool](b, "reading the dialog", `document.getElementById('help').open`) || eval[string](b, "reading the search", `document.getElementById('search').value`) != "?" {
		t.Fatal("a ? typed into the search opened the help (or was not typed)")
	}
	eval[bool](b, "clearing the search", `(document.getElementById('search').value = '') === ''`)
	b.run("leaving the search", chromedp.Focus(chromedp.CSS(`.brand`)))
	b.run("pressing ?", pressKey('?'),
		poll(`document.getElementById('help').open && document.activeElement === document.getElementById('help-close')`),
		poll(`[...document.querySelectorAll('#help-list dt')].map(dt => dt.textContent).join(',') === '?,g then p,g then a,/,Esc'`))
	b.screenshot("open")
	for _, k := range []struct {
		name string
		key  chromedp.Action[chromedp.Void]
	}{
		{"Tab", chromedp.KeyEvent(kb.Tab)},
		{"Tab", chromedp.KeyEvent(kb.Tab)},
		{"Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))},
	} {
		b.run("pressing "+k.name, k.key)
		if !eval[bool](b, "reading the focus", `document.getElementById('help').contains(document.activeElement)`) {
			t.Fatalf("%s moved the focus out of the dialog, to %s", k.name, eval[string](b, "reading the focus", `document.activeElement.outerHTML.slice(0, 80)`))
		}
	}
	b.run("Esc closes it", chromedp.KeyEvent(kb.Escape),
		poll(`!document.getElementById('help').open && document.activeElement === document.querySelector('.brand')`))

	b.run("the header's button opens it too", chromedp.Click(chromedp.CSS(`#help-open`)),
		poll(`document.getElementById('help').open`),
		chromedp.Click(chromedp.CSS(`#help-close`)),
		poll(`!document.getElementById('help').open && document.activeElement === document.getElementById('help-open')`))

	b.run("g a: the approvals", chromedp.Focus(chromedp.CSS(`.brand`)), chromedp.KeyEvent("ga"),
		poll(`location.hash === '#/approvals' && document.getElementById('approvals-status') !== null`))
	b.run("g p: the pipelines", chromedp.KeyEvent("gp"),
		poll(`location.hash === '#/'`), visible(`#search`))
	b.run("/ focuses the search", pressKey('/'),
		poll(`document.activeElement === document.getElementById('search')`))
	if got := eval[string](b, "reading the search", `document.getElementById('search').value`); got != "" {
		t.Fatalf("the search holds %q", got)
	}
}
