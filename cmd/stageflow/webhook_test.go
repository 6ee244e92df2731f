package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stageflow webhook create makes a URL that a signed push starts the
// pipeline through; list shows it (no secret), delete removes it.
func TestWebhookCommands(t *testing.T) {
	s := startServer(t, t.TempDir())
	cli := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	commands := `"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`
	file := filepath.Join(t.TempDir(), "hooked.json")
	os.WriteFile(file, []byte(`{"name": "hooked", "stages": [
		{"name": "Source", "actions": [{"name": "Checkout", `+commands+`, "commands": ["true"], "configuration": {"BranchName": "main"}}]},
		{"name": "Build", "actions": [{"name": "Make", `+commands+`, "commands": ["true"]}]}]}`), 0o644)
	if code, out := cli("pipeline", "apply", file); code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("hush\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing flags", []string{"webhook", "create", "x"}, 2, "required"},
		{"both secrets", []string{"webhook", "create", "x", "--pipeline", "hooked", "--action", "Checkout", "--filter", "$.ref", "--auth", "GITHUB_HMAC", "--secret-file", secretFile, "--secret-env", "HOME"}, 2, "not both"},
		{"refused by the server", []string{"webhook", "create", "x", "--pipeline", "hooked", "--action", "Make", "--filter", "$.ref", "--auth", "UNAUTHENTICATED"}, 1, "first (source) stage"},
		{"created", []string{"webhook", "create", "push", "--pipeline", "hooked", "--action", "Checkout", "--filter", "$.ref=refs/heads/{BranchName}", "--auth", "GITHUB_HMAC", "--secret-file", secretFile}, 0, "/webhooks/v1/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := cli(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("%v: %d %s; want %d with %q", tc.args, code, out, tc.code, tc.want)
			}
		})
	}
	code, out := cli("webhook", "list")
	url := regexp.MustCompile(`http://\S+/webhooks/v1/[0-9a-f]+`).FindString(out)
	if code != 0 || !strings.Contains(out, "push") || url == "" || strings.Contains(out, "hush") {
		t.Fatalf("list: %d %s", code, out)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("hush"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(answer), `"pipelineExecutionId"`) {
		t.Fatalf("a signed push: %d %s", resp.StatusCode, answer)
	}
	if code, out := cli("webhook", "delete", "push"); code != 0 {
		t.Fatalf("delete: %d %s", code, out)
	}
	if code, out := cli("webhook", "list"); code != 0 || strings.Contains(out, "push") {
		t.Errorf("list after delete: %d %s", code, out)
	}
}
