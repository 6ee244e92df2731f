package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api"
)

// TestConsoleLink: `stageflow serve` prints a sign-in link for the admin
// key, and `stageflow console-link` one for the key it signs with; each
// signs a browser in once.
func TestConsoleLink(t *testing.T) {
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	t.Setenv("STAGEFLOW_DATA_DIR", dir)
	s := startServer(t, dir)
	linkRE := regexp.MustCompile(`console:\s+(http://\S+/console/signin\?token=\S+)`)
	var printed string
	for deadline := time.Now().Add(30 * time.Second); printed == ""; {
		if m := linkRE.FindStringSubmatch(s.stdout.String()); m != nil {
			printed = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve printed no console link:\n%s", s.stdout.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.HasPrefix(printed, s.endpoint+"/") || strings.Contains(s.stderr.String(), printed) {
		t.Fatalf("link %s (endpoint %s); it must not reach the log", printed, s.endpoint)
	}
	open := func(link string) int {
		t.Helper()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther && !strings.Contains(resp.Header.Get("Set-Cookie"), api.SessionCookie+"=") {
			t.Fatalf("signed in without a cookie: %v", resp.Header)
		}
		return resp.StatusCode
	}
	if got := open(printed); got != http.StatusSeeOther {
		t.Fatalf("the printed link: %d", got)
	}
	if got := open(printed); got != http.StatusForbidden {
		t.Fatalf("the printed link, again: %d", got)
	}

	var out bytes.Buffer
	if code := run([]string{"console-link", "--endpoint", s.endpoint}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("console-link: exit %d\n%s", code, out.String())
	}
	m := linkRE.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "user/admin") {
		t.Fatalf("console-link printed:\n%s", out.String())
	}
	if got := open(m[1]); got != http.StatusSeeOther {
		t.Fatalf("console-link's link: %d", got)
	}

	out.Reset()
	if code := run([]string{"console-link", "--endpoint", s.endpoint, "-o", "json"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("console-link -o json: exit %d\n%s", code, out.String())
	}
	var l struct {
		URL       string `json:"url"`
		Principal string `json:"principal"`
	}
	if err := json.Unmarshal(out.Bytes(), &l); err != nil || open(l.URL) != http.StatusSeeOther {
		t.Fatalf("console-link -o json: %v\n%s", err, out.String())
	}
}
