package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// The browser tests of the web console: headless Chromium (Debian's
// chromium, `make system-deps` installs it) driven by chromedp against a
// real `stageflow serve` with authentication on. Each saves screenshots
// into test-screenshots/ at the repository's root (git-ignored).
//
// Without chromium the tests fail, saying to run `make system-deps`;
// STAGEFLOW_SKIP_BROWSER_TESTS=1 skips them instead, explicitly.
// STAGEFLOW_CONSOLE_SCREENSHOT=PATH also writes the pipeline view's
// screenshot to PATH (`make screenshot`: docs/console-pipeline.png).

const consoleDemo = `{"pipeline": {"name": "console-demo", "pipelineType": "V2", "stages": [
  {"name": "Build", "actions": [
    {"name": "Compile", "runOrder": 1, "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo compiling", "sleep 1"]},
    {"name": "Lint", "runOrder": 1, "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo linting"]},
    {"name": "Package", "runOrder": 2, "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo packaging"]}]},
  {"name": "Release", "actions": [
    {"name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
     "configuration": {"CustomData": "Ship console-demo?", "ExternalEntityLink": "https://example.com/changes"}}]},
  {"name": "Deploy", "actions": [
    {"name": "Ship", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo shipped"]}]}]}}`

const consoleOther = `{"pipeline": {"name": "nightly-report", "pipelineType": "V2", "stages": [
  {"name": "Report", "actions": [
    {"name": "Write", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "commands": ["echo report"]}]}]}}`

// browserTest is one browser against one server.
type browserTest struct {
	t      *testing.T
	s      *server
	ctx    context.Context
	shots  string
	prefix string

	mu         sync.Mutex
	exceptions []string // the page's uncaught exceptions
}

func newBrowserTest(t *testing.T, s *server, name string) *browserTest {
	t.Helper()
	if os.Getenv("STAGEFLOW_SKIP_BROWSER_TESTS") == "1" {
		t.Skip("STAGEFLOW_SKIP_BROWSER_TESTS=1: the console's browser tests are skipped")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the console's browser tests need Debian's chromium: run `make system-deps` (or set STAGEFLOW_SKIP_BROWSER_TESTS=1 to skip them)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.WindowSize(1400, 900),
		// Tests run as root in containers, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The browser lives as long as the context of its first action: that
	// one has no deadline; the test's actions have one.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium (%s): %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(cancel)
	b := &browserTest{t: t, s: s, ctx: ctx, prefix: name}
	// Every uncaught exception of the page fails the test.
	if err := chromedp.Listen(ctx, func(ev any) {
		var e *runtime.EventExceptionThrown
		switch v := ev.(type) {
		case *runtime.EventExceptionThrown:
			e = v
		case runtime.EventExceptionThrown:
			e = &v
		default:
			return
		}
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil && e.ExceptionDetails.Exception.Description != "" {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		b.mu.Lock()
		b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", msg, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber+1))
		b.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ex := b.pageExceptions(); ex != "" {
			t.Errorf("the page threw: %s", ex)
		}
	})
	shots, err := filepath.Abs(filepath.Join("..", "..", "test-screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b.shots = shots
	return b
}

func (b *browserTest) pageExceptions() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.exceptions, "; ")
}

// run runs chromedp actions, failing the test with what was being done.
func (b *browserTest) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.screenshot("failed")
		b.t.Fatalf("%s: %v (the page threw: %s; it shows %s)", what, err, b.pageExceptions(), b.shows())
	}
}

// shows is what the page shows, for a failure's message: its address, the
// error banner and the start of the main view's text. It has a deadline
// of its own, so that it answers after the test's has passed.
func (b *browserTest) shows() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
	  const banner = document.getElementById('banner'), main = document.getElementById('main');
	  return JSON.stringify({url: location.href, banner: banner && !banner.hidden ? banner.textContent : '',
	    main: main ? main.innerText.slice(0, 600) : ''});
	})()`))
	if err != nil {
		return "(not read: " + err.Error() + ")"
	}
	return v
}

// poll waits until a JavaScript expression is true in the page.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(45*time.Second))
}

// visible waits until a CSS selector matches a visible element.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browserTest, what, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.screenshot("failed")
		b.t.Fatalf("%s: %v (the page threw: %s; it shows %s)", what, err, b.pageExceptions(), b.shows())
	}
	return v
}

// screenshot saves the page as test-screenshots/<test>-<name>.png and
// returns its path.
func (b *browserTest) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.shots, b.prefix+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// signIn opens a one-time sign-in link made for creds.
func (b *browserTest) signIn(creds aws.Credentials) {
	b.t.Helper()
	var l rest.RESTConsoleLink
	c := &server{endpoint: b.s.endpoint, http: signingClient(creds)}
	if code := c.post(b.t, "/v1/console-links", "{}", &l); code != 201 || l.URL == "" {
		b.t.Fatalf("POST /v1/console-links: %d %+v", code, l)
	}
	b.run("opening the sign-in link", chromedp.Navigate(l.URL), visible(`#who`),
		poll(`document.getElementById('who').textContent.startsWith('Signed in as')`))
	who := eval[string](b, "reading who is signed in", `document.getElementById('who').textContent`)
	if !strings.Contains(who, l.Principal) {
		b.t.Fatalf("the console says %q, the link is for %s", who, l.Principal)
	}
}

// startConsoleServer starts `stageflow serve` with the pipelines of docs
// loaded, and waits until each is there.
func startConsoleServer(t *testing.T, docs ...string) *server {
	t.Helper()
	s := startServer(t, t.TempDir(), "--load", writePipelines(t, docs...))
	re := regexp.MustCompile(`"name":\s*"([^"]+)"`)
	for _, d := range docs {
		name := re.FindStringSubmatch(d)[1]
		for deadline := time.Now().Add(30 * time.Second); s.get(t, "/v1/pipelines/"+name, nil) != 200; {
			if time.Now().After(deadline) {
				t.Fatalf("serve did not load %s", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return s
}

func writePipelines(t *testing.T, docs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.json", i)), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestConsoleBrowser: sign in with a one-time link, see the pipelines
// list and filter it, open a pipeline, start it (confirmed), watch its
// cards turn Succeeded live without a reload, approve its pending approval
// with a comment, see it succeed, then the same page in dark mode.
func TestConsoleBrowser(t *testing.T) {
	began := time.Now()
	s := startConsoleServer(t, consoleDemo, consoleOther)
	b := newBrowserTest(t, s, "console")
	b.signIn(s.creds)

	// The list: both pipelines, never run; the search filters them.
	b.run("the pipelines list",
		visible(`tr[data-pipeline="console-demo"]`),
		visible(`tr[data-pipeline="nightly-report"]`),
		poll(`[...document.querySelectorAll('tr[data-pipeline="console-demo"] .stage-name')].map(e => e.textContent).join(',') === 'Build,Release,Deploy'`))
	b.screenshot("list")
	b.run("searching", chromedp.SendKeys(chromedp.CSS(`#search`), "nightly"),
		chromedp.WaitNotVisible(chromedp.CSS(`tr[data-pipeline="console-demo"]`)),
		visible(`tr[data-pipeline="nightly-report"]`),
		poll(`document.getElementById('count').textContent === '1 of 2 pipelines'`))

	// The pipeline view: stages left to right, the actions of one runOrder side by side.
	b.run("opening console-demo",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/console-demo"),
		visible(`.card[data-action="Package"]`))
	type cardLayout struct {
		Stages                                                 []string
		CompileTop, LintTop, PackageTop, CompileLeft, LintLeft float64
	}
	layout := eval[cardLayout](b, "reading the layout", `(() => {
		const r = (a) => document.querySelector('.card[data-action="' + a + '"]').getBoundingClientRect();
		const cols = [...document.querySelectorAll('.stage')].sort((x, y) => x.getBoundingClientRect().left - y.getBoundingClientRect().left);
		return {Stages: cols.map(c => c.dataset.stage), CompileTop: r('Compile').top, LintTop: r('Lint').top, PackageTop: r('Package').top,
			CompileLeft: r('Compile').left, LintLeft: r('Lint').left};
	})()`)
	if strings.Join(layout.Stages, ",") != "Build,Release,Deploy" || layout.CompileTop != layout.LintTop ||
		layout.LintLeft <= layout.CompileLeft || layout.PackageTop <= layout.CompileTop {
		t.Fatalf("layout: %+v", layout)
	}

	// Start, confirmed; the page is not reloaded while the execution runs.
	eval[bool](b, "marking the page", `window.stageflowNoReload = true`)
	b.run("starting",
		chromedp.Click(chromedp.CSS(`#start`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	b.run("watching Compile run", visible(`.card[data-action="Compile"][data-status="InProgress"]`),
		poll(`document.getElementById('live')?.textContent === 'Live: following the execution'`))
	for _, a := range []string{"Compile", "Lint", "Package"} {
		b.run("waiting for "+a+" to succeed", visible(`.card[data-action="`+a+`"][data-status="Succeeded"]`))
	}
	b.run("waiting for the approval",
		visible(`.card[data-action="Approve"][data-status="InProgress"] button.approve`),
		poll(`document.querySelector('.card[data-action="Approve"] .custom').textContent === 'Ship console-demo?'`))
	if !eval[bool](b, "checking no reload", `window.stageflowNoReload === true && location.hash.includes('/executions/')`) {
		t.Fatal("the page was reloaded (or did not follow the started execution)")
	}
	b.screenshot("approval")

	// Approve inline with a comment.
	b.run("approving",
		chromedp.SendKeys(chromedp.CSS(`.card[data-action="Approve"] textarea`), "looks good"),
		chromedp.Click(chromedp.CSS(`.card[data-action="Approve"] button.approve`)),
		visible(`.card[data-action="Ship"][data-status="Succeeded"]`),
		poll(`document.querySelector('#exec-status')?.textContent === 'Succeeded' && !document.getElementById('live')`),
		poll(`window.stageflowNoReload === true`))
	id := eval[string](b, "reading the execution", `location.hash.split('/').pop()`)
	e := s.waitExecution(t, "console-demo", id, "the execution to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
	for _, r := range e.Actions {
		if r.Action == "Approve" && (r.Summary != "looks good" || r.Status != engine.Succeeded) {
			t.Fatalf("the approval's run: %+v", r)
		}
	}
	if e.Trigger.Type != "StartPipelineExecution" {
		t.Fatalf("trigger %+v", e.Trigger)
	}
	b.run("the execution in the history (the page once loaded again)",
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/console-demo"),
		poll(`document.querySelector('#history li[data-execution="`+id+`"] .badge')?.textContent === 'Succeeded' &&
			document.querySelector('#history li[data-execution="`+id+`"] a').getAttribute('aria-current') === 'page'`),
		visible(`.card[data-action="Ship"][data-status="Succeeded"]`))
	view := b.screenshot("pipeline")
	if dst := os.Getenv("STAGEFLOW_CONSOLE_SCREENSHOT"); dst != "" && view != "" {
		data, err := os.ReadFile(view)
		if err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// The transition into Deploy: disabled with a reason, then enabled.
	sel := `.transition[data-stage="Deploy"]`
	b.run("disabling the transition into Deploy",
		chromedp.Click(chromedp.CSS(sel+` button.transition-toggle`)),
		visible(`#confirm-input`),
		chromedp.SendKeys(chromedp.CSS(`#confirm-input`), "Freeze for the audit"),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`document.querySelector('`+sel+`').dataset.enabled === 'false' &&
			document.querySelector('`+sel+` .transition-reason').textContent.startsWith('Disabled: Freeze for the audit')`))
	var state service.GetPipelineStateOutput
	if code := s.get(t, "/v1/pipelines/console-demo/state", &state); code != 200 || state.StageStates[2].InboundTransitionState == nil ||
		state.StageStates[2].InboundTransitionState.Enabled || state.StageStates[2].InboundTransitionState.DisabledReason != "Freeze for the audit" {
		t.Fatalf("state after disabling: %d %+v", code, state.StageStates)
	}
	b.screenshot("transition-disabled")
	b.run("enabling it again",
		chromedp.Click(chromedp.CSS(sel+` button.transition-toggle`)),
		visible(`#confirm-ok`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`document.querySelector('`+sel+`').dataset.enabled === 'true'`))
	if code := s.get(t, "/v1/pipelines/console-demo/state", &state); code != 200 || !state.StageStates[2].InboundTransitionState.Enabled {
		t.Fatalf("state after enabling: %d %+v", code, state.StageStates[2])
	}

	// Light and dark follow the system.
	background := func(scheme string) string {
		t.Helper()
		if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatalf("emulating %s: %v", scheme, err)
		}
		return eval[string](b, "reading the background", `getComputedStyle(document.body).backgroundColor`)
	}
	light, dark := background("light"), background("dark")
	if light != "rgb(246, 247, 249)" || dark != "rgb(13, 17, 23)" {
		t.Fatalf("background light %s, dark %s", light, dark)
	}
	b.screenshot("pipeline-dark")

	// The list shows the execution's stages; the keyboard alone reaches
	// the pipeline: the first Tab is the skip link, then Tab to its row's
	// link and Enter.
	b.run("the list after the execution (a new page load)",
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(s.endpoint+"/console/#/"),
		poll(`[...document.querySelectorAll('tr[data-pipeline="console-demo"] .stage-strip .badge')].map(e => e.textContent).join(',') === 'Succeeded,Succeeded,Succeeded'`),
		poll(`document.querySelector('tr[data-pipeline="console-demo"] td:nth-child(3) .badge').textContent === 'Succeeded'`),
		poll(`document.querySelector('tr[data-pipeline="console-demo"] .health .rate')?.textContent === '100% of 1' &&
			/^ · (< )?\d+ s$/.test(document.querySelector('tr[data-pipeline="console-demo"] .health .median').textContent)`))
	b.run("tabbing", chromedp.KeyEvent("\t"))
	if got := eval[string](b, "reading the focus", `document.activeElement.className`); got != "skip" {
		t.Fatalf("the first Tab focused %q, want the skip link", got)
	}
	for i := 0; ; i++ {
		if eval[bool](b, "reading the focus", `document.activeElement.getAttribute('href') === '#/pipelines/console-demo'`) {
			break
		}
		if i == 20 {
			t.Fatal("20 Tabs did not reach console-demo's link")
		}
		b.run("tabbing", chromedp.KeyEvent("\t"))
	}
	b.run("opening with Enter", chromedp.KeyEvent("\r"),
		visible(`.card[data-action="Ship"][data-status="Succeeded"]`),
		poll(`document.activeElement === document.getElementById('main')`))
	t.Logf("the console's browser test took %s", time.Since(began).Round(time.Millisecond))
}

// TestConsoleBrowserPolicy: a caller whose policy allows reading only is
// shown no Start button and no approval buttons.
func TestConsoleBrowserPolicy(t *testing.T) {
	s := startConsoleServer(t, consoleDemo)
	var key service.CreateAccessKeyOutput
	if code := s.post(t, "/v1/keys", `{"user": "viewer", "policies": [{"name": "AWSCodePipeline_ReadOnlyAccess"}]}`, &key); code != 201 {
		t.Fatalf("POST /v1/keys: %d %+v", code, key)
	}
	var started rest.RESTExecutionID
	if code := s.post(t, "/v1/pipelines/console-demo/executions", "{}", &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	s.waitExecution(t, "console-demo", started.PipelineExecutionID, "the approval", func(e *engine.Execution) bool {
		for _, r := range e.Actions {
			if r.Action == "Approve" && r.Status == engine.InProgress {
				return true
			}
		}
		return false
	})
	b := newBrowserTest(t, s, "console-policy")
	b.signIn(aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey})
	b.run("opening console-demo as a viewer",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/console-demo"),
		visible(`.card[data-action="Approve"][data-status="InProgress"] .approval-slot p`))
	n := eval[int](b, "counting buttons", `document.querySelectorAll('#start, #stop, #abandon, button.approve, button.reject, button.retry-failed, button.retry-all, .transition-toggle:not([hidden])').length`)
	if n != 0 {
		t.Fatalf("a read-only caller is shown %d Start/Approve/Reject buttons", n)
	}
	b.screenshot("viewer")
}

// TestConsoleBrowserFailure: a failed action's card leads to its log,
// opened on the failing line, with line numbers, ANSI colours and a deep
// link to a line; retrying the failed stage from the page makes the
// execution succeed, live.
func TestConsoleBrowserFailure(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran-once")
	flaky := fmt.Sprintf(`{"pipeline": {"name": "flaky", "pipelineType": "V2", "stages": [
  {"name": "Test", "actions": [
    {"name": "Unit", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
     "environmentVariables": [{"name": "MARKER", "value": %q}],
     "commands": ["printf 'running \\033[31mred\\033[0m tests\\n'", "echo line three",
       "if [ -e \"$MARKER\" ]; then echo passed; else touch \"$MARKER\"; echo 'error: TestThing failed'; echo cleaning up; exit 3; fi"]}]}]}}`, marker)
	s := startConsoleServer(t, flaky)
	var started rest.RESTExecutionID
	if code := s.post(t, "/v1/pipelines/flaky/executions", "{}", &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	s.waitExecution(t, "flaky", started.PipelineExecutionID, "the failure", func(e *engine.Execution) bool { return e.Status == engine.Failed })

	b := newBrowserTest(t, s, "console-failure")
	b.signIn(s.creds)
	b.run("opening flaky",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/flaky"),
		visible(`.card[data-action="Unit"][data-status="Failed"] a.log-link.failed`))
	b.screenshot("failed")
	b.run("one click from the red card to why",
		chromedp.Click(chromedp.CSS(`.card[data-action="Unit"] a.log-link`)),
		visible(`#log li.target`),
		poll(`document.querySelector('#log li.target .text').textContent === 'error: TestThing failed'`),
		poll(`document.activeElement === document.querySelector('#log li.target a.ln')`))
	type logLine struct {
		ID, Number, Red string
	}
	red := eval[logLine](b, "reading the coloured line", `(() => {
		const li = [...document.querySelectorAll('#log li')].find(li => li.querySelector('.text').textContent === 'running red tests');
		return li ? {ID: li.id, Number: li.querySelector('.ln').textContent, Red: li.querySelector('.fg1')?.textContent || ''} : {};
	})()`)
	if red.ID == "" || red.ID != "L"+red.Number || red.Red != "red" {
		t.Fatalf("the line with colours: %+v", red)
	}
	b.screenshot("log")
	b.run("finding in the log",
		chromedp.SendKeys(chromedp.CSS(`#log-search`), "line three"),
		poll(`document.querySelectorAll('#log li.hit').length === 2 && [...document.querySelectorAll('#log li.hit')].every(li => li.textContent.includes('line three'))`),
		poll(`document.getElementById('log-status').textContent === '2 lines match'`))
	b.run("a deep link to line 2",
		chromedp.Click(chromedp.CSS(`#L2 a.ln`)),
		poll(`location.hash.endsWith('/L2') && document.querySelector('#log li.target')?.id === 'L2'`))

	b.run("retrying the failed actions",
		chromedp.NavigateBack(), chromedp.NavigateBack(),
		visible(`.stage[data-stage="Test"] button.retry-failed`),
		chromedp.Click(chromedp.CSS(`.stage[data-stage="Test"] button.retry-failed`)),
		visible(`#confirm`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		visible(`.card[data-action="Unit"][data-status="Succeeded"]`),
		poll(`document.querySelector('#exec-status')?.textContent === 'Succeeded'`),
		chromedp.WaitNotPresent(chromedp.CSS(`button.retry-failed`)))
	e := s.waitExecution(t, "flaky", started.PipelineExecutionID, "the retry's success", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
	if e.Stages[0].ManualRetries != 1 {
		t.Fatalf("stage after the retry: %+v", e.Stages[0])
	}
	b.screenshot("retried")
}

// TestConsoleBrowserPages: the list shows 25 pipelines a page; the search
// filters across the pages.
func TestConsoleBrowserPages(t *testing.T) {
	var docs []string
	for i := range 27 {
		docs = append(docs, strings.Replace(consoleOther, `"nightly-report"`, fmt.Sprintf(`"report-%02d"`, i), 1))
	}
	s := startConsoleServer(t, docs...)
	b := newBrowserTest(t, s, "console-pages")
	b.signIn(s.creds)
	shown := `[...document.querySelectorAll('#pipelines tbody tr')].filter(tr => !tr.hidden).map(tr => tr.dataset.pipeline)`
	b.run("the first page",
		poll(shown+`.length === 25 && `+shown+`[0] === 'report-00' && `+shown+`[24] === 'report-24'`),
		poll(`document.getElementById('page-info').textContent === 'Page 1 of 2' && document.getElementById('prev-page').disabled`),
		chromedp.Click(chromedp.CSS(`#next-page`)),
		poll(shown+`.join(',') === 'report-25,report-26' && document.getElementById('next-page').disabled`),
		poll(`document.querySelector('tr[data-pipeline="report-26"] .stage-strip .badge')?.textContent === 'Not run'`),
		chromedp.SendKeys(chromedp.CSS(`#search`), "report-1"),
		poll(shown+`.length === 10 && `+shown+`[0] === 'report-10' && document.querySelector('nav.pager').hidden`))
	b.screenshot("search")
}

// TestConsoleBrowserApprovals: the approvals page lists the approvals
// waiting across the pipelines, each approvable from there.
func TestConsoleBrowserApprovals(t *testing.T) {
	other := strings.Replace(consoleDemo, `"console-demo"`, `"console-other"`, 1)
	s := startConsoleServer(t, consoleDemo, other, consoleOther)
	ids := map[string]string{}
	for _, p := range []string{"console-demo", "console-other"} {
		var started rest.RESTExecutionID
		if code := s.post(t, "/v1/pipelines/"+p+"/executions", "{}", &started); code != 201 {
			t.Fatalf("start %s: %d", p, code)
		}
		ids[p] = started.PipelineExecutionID
		s.waitExecution(t, p, started.PipelineExecutionID, "the approval of "+p, func(e *engine.Execution) bool {
			for _, r := range e.Actions {
				if r.Action == "Approve" && r.Status == engine.InProgress {
					return true
				}
			}
			return false
		})
	}
	b := newBrowserTest(t, s, "console-approvals")
	b.signIn(s.creds)
	b.run("the approvals page",
		chromedp.Click(chromedp.CSS(`nav a[href="#/approvals"]`)),
		poll(`document.getElementById('approvals-status')?.textContent === '2 approvals waiting'`),
		poll(`[...document.querySelectorAll('#approvals li')].map(li => li.dataset.pipeline).join(',') === 'console-demo,console-other'`),
		poll(`document.querySelector('li[data-pipeline="console-other"] .custom')?.textContent === 'Ship console-demo?'`))
	b.screenshot("list")
	b.run("approving console-other's",
		chromedp.SendKeys(chromedp.CSS(`li[data-pipeline="console-other"] textarea`), "from the approvals page"),
		chromedp.Click(chromedp.CSS(`li[data-pipeline="console-other"] button.approve`)),
		poll(`document.querySelector('li[data-pipeline="console-other"]')?.textContent === 'console-other / Release / Approve: Approved'`))
	e := s.waitExecution(t, "console-other", ids["console-other"], "console-other to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
	for _, r := range e.Actions {
		if r.Action == "Approve" && r.Summary != "from the approvals page" {
			t.Fatalf("the approval's run: %+v", r)
		}
	}
	var d engine.Execution
	if code := s.get(t, "/v1/pipelines/console-demo/executions/"+ids["console-demo"], &d); code != 200 || d.Status != engine.InProgress {
		t.Fatalf("console-demo: %d %s (it was not approved)", code, d.Status)
	}
}
