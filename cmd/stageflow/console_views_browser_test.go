package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// holdCheck wraps the page's fetch so that the pipeline view's permission
// check (GET /v1/whoami asking about StartPipelineExecution) waits until
// window.releaseCheck() is called. window.checkRead turns true one task
// after the view has read the answer, when all it does upon it is done.
const holdCheck = `(() => {
  const real = window.fetch;
  let release;
  const gate = new Promise((r) => { release = r; });
  window.releaseCheck = release;
  window.checkHeld = false;
  window.checkRead = false;
  window.fetch = async (input, init) => {
    const url = String(input);
    if (!url.includes('/v1/whoami') || !url.includes('StartPipelineExecution')) return real(input, init);
    window.checkHeld = true;
    await gate;
    const resp = await real(input, init);
    const read = resp.text.bind(resp);
    resp.text = async () => {
      const body = await read();
      setTimeout(() => { window.checkRead = true; }, 0);
      return body;
    };
    return resp;
  };
  return true;
})()`

// TestConsoleBrowserLateAnswer: a view whose answer arrives after the user
// has moved on draws nothing over the view opened since. The pipeline
// view waits on its permission check while the user opens the approvals
// page; then the check answers.
func TestConsoleBrowserLateAnswer(t *testing.T) {
	s := startConsoleServer(t, consoleOther)
	b := newBrowserTest(t, s, "console-late-answer")
	b.signIn(s.creds)
	if !eval[bool](b, "holding the permission check", holdCheck) {
		t.Fatal("the fetch wrapper is not in place")
	}
	b.run("the pipeline view, waiting on its check",
		chromedp.Navigate(s.endpoint+"/console/#/pipelines/nightly-report"),
		poll(`window.checkHeld && document.querySelector('main').textContent.includes('Loading nightly-report')`))
	b.run("the approvals page meanwhile",
		chromedp.Navigate(s.endpoint+"/console/#/approvals"),
		poll(`document.querySelector('main h1')?.textContent === 'Pending approvals'`))
	eval[bool](b, "answering the check", `(window.releaseCheck(), true)`)
	b.run("the check answered", poll(`window.checkRead`))
	b.screenshot("after")
	if got := eval[string](b, "reading the page", `document.querySelector('main h1')?.textContent || ''`); got != "Pending approvals" {
		t.Fatalf("after the late answer the page shows %q, want the approvals page still (%s)", got, b.shows())
	}
	if banner := eval[bool](b, "reading the banner", `!document.getElementById('banner').hidden`); banner {
		t.Fatalf("a banner shows after the late answer: %s", b.shows())
	}
}
