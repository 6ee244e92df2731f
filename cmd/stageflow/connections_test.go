package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConnectionCommands: the connection and repository commands against a
// real server, secrets read from files and the environment and never shown
// by list.
func TestConnectionCommands(t *testing.T) {
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-TOKEN-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := cliAs(t, s, nil, "connection", "create", "examples", "--id", "team-repos",
		"--remote", "https://git.example/{FullRepositoryId}.git", "--token-file", tokenFile, "--username", "bot")
	secret := regexp.MustCompile(`trigger secret: ([0-9a-f]{64}) `).FindStringSubmatch(out)
	if code != 0 || !strings.Contains(out, "connection/team-repos") || secret == nil {
		t.Fatalf("connection create: %d %s", code, out)
	}
	code, out = cliAs(t, s, map[string]string{"SF_TEST_TOKEN": "env-TOKEN-value"}, "connection", "create", "other",
		"--remote", "https://git.example/other.git", "--token-env", "SF_TEST_TOKEN", "-o", "json")
	var made struct{ ID, TriggerSecret string }
	if err := json.Unmarshal([]byte(out), &made); code != 0 || err != nil || len(made.ID) != 36 || len(made.TriggerSecret) != 64 {
		t.Fatalf("connection create -o json: %d %s", code, out)
	}
	code, out = cliAs(t, s, nil, "connection", "list")
	if code != 0 || !strings.Contains(out, "team-repos") || !strings.Contains(out, "token (bot)") ||
		strings.Contains(out, "TOKEN-value") || strings.Contains(out, secret[1]) {
		t.Fatalf("connection list: %d %s", code, out)
	}
	code, out = cliAs(t, s, nil, "connection", "rotate-secret", "team-repos")
	if code != 0 || !regexp.MustCompile(`new trigger secret of \S+: [0-9a-f]{64}`).MatchString(out) || strings.Contains(out, secret[1]) {
		t.Fatalf("connection rotate-secret: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "connection", "delete", "team-repos", made.ID); code != 0 {
		t.Fatalf("connection delete: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "repository", "create", "my-app", "--remote", dir); code != 0 || !strings.Contains(out, "arn:aws:codecommit:") {
		t.Fatalf("repository create: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "repository", "list"); code != 0 || !strings.Contains(out, "my-app") || !strings.Contains(out, "none") {
		t.Fatalf("repository list: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "repository", "delete", "my-app"); code != 0 {
		t.Fatalf("repository delete: %d %s", code, out)
	}

	failures := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"credentials in the URL", nil, []string{"connection", "create", "c", "--remote", "https://u:pw@h/r.git"}, "--token"},
		{"no remote", nil, []string{"connection", "create", "c"}, "--remote is required"},
		{"both token sources", nil, []string{"connection", "create", "c", "--remote", "https://h/r", "--token-file", tokenFile, "--token-env", "X"}, "not both"},
		{"unset env", nil, []string{"connection", "create", "c", "--remote", "https://h/r", "--token-env", "SF_TEST_UNSET_VAR"}, "not set"},
		{"missing key file", nil, []string{"repository", "create", "r", "--remote", "ssh://git@h/r", "--ssh-key-file", filepath.Join(dir, "nope")}, "--ssh-key-file"},
		{"delete unknown", nil, []string{"connection", "delete", "nope"}, "not found"},
		{"no token flag", nil, []string{"connection", "create", "c", "--remote", "https://h/r", "--token", "x"}, "unknown flag"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := cliAs(t, s, tc.env, tc.args...); code == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("%v: %d %s; want a failure naming %q", tc.args, code, out, tc.want)
			}
		})
	}
}
