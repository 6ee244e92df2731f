package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/secrets"
)

func TestSecretCommands(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string // exactly, when the command succeeds
		stderr string // substring
	}{
		{name: "empty list", args: []string{"list"}, stdout: ""},
		{name: "put from stdin", args: []string{"put", "prod/token"}, stdin: "from-stdin-s3cr3t\n", stdout: "stored secret prod/token\n"},
		{name: "put with --value", args: []string{"put", "db", "--value", `{"password":"pw-s3cr3t"}`}, stdout: "stored secret db\n"},
		{name: "list names only", args: []string{"list"}, stdout: "db\nprod/token\n"},
		{name: "bad name", args: []string{"put", "bad name", "--value", "x"}, code: 1, stderr: "not valid"},
		{name: "delete", args: []string{"delete", "db"}, stdout: "deleted secret db\n"},
		{name: "delete again", args: []string{"delete", "db"}, code: 1, stderr: `secret "db": no such secret`},
		{name: "list after delete", args: []string{"list"}, stdout: "prod/token\n"},
		{name: "put without a name (a usage error)", args: []string{"put"}, code: 2, stderr: "accepts 1 arg"},
	}
	for _, st := range steps {
		var stdout, stderr bytes.Buffer
		args := append(append([]string{"secret"}, st.args...), "--data-dir", dir)
		code := run(args, strings.NewReader(st.stdin), &stdout, &stderr)
		if code != st.code {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st.name, code, st.code, stdout.String(), stderr.String())
		}
		if st.code == 0 && stdout.String() != st.stdout {
			t.Errorf("%s: stdout %q, want %q", st.name, stdout.String(), st.stdout)
		}
		if !strings.Contains(stderr.String(), st.stderr) {
			t.Errorf("%s: stderr %q lacks %q", st.name, stderr.String(), st.stderr)
		}
		if strings.Contains(stdout.String()+stderr.String(), "s3cr3t") {
			t.Errorf("%s: the output shows a secret value", st.name)
		}
	}
	if v, err := secrets.Open(dir).Get("prod/token"); err != nil || v != "from-stdin-s3cr3t" {
		t.Errorf("stored value %q, %v; want the value from stdin without its newline", v, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, secrets.SecretFile))
	if err != nil || bytes.Contains(data, []byte("s3cr3t")) {
		t.Errorf("the secret file (%v) shows a value in clear:\n%s", err, data)
	}
}

// TestRunReadsSecrets runs a pipeline whose action reads a stored secret
// and then fails, so that `run` prints its log's tail: the value is masked.
func TestRunReadsSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := secrets.Open(dir).Put("prod/token", "tok-s3cr3t"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "p.json")
	doc := func(ref string) string {
		return `{"name": "secretive", "stages": [{"name": "S", "actions": [{"name": "A",
			"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
			"environmentVariables": [{"name": "TOKEN", "value": "` + ref + `", "type": "SECRETS_MANAGER"}],
			"commands": ["test \"$TOKEN\" = tok-s3cr3t && echo \"token $TOKEN\"", "false"]}]}]}`
	}
	for _, tc := range []struct{ ref, want string }{
		{"prod/token", "token ***"},
		{"prod/missing", `secret "prod/missing"`},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(doc(tc.ref)), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if code := run([]string{"run", "--data-dir", dir, file}, strings.NewReader(""), &out, &out); code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "s3cr3t") {
				t.Errorf("output lacks %q or shows the secret:\n%s", tc.want, out.String())
			}
		})
	}
}
