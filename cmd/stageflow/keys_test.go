package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/embedded"
)

// cliAs runs a client command in-process against s with the environment
// variables env set for it (on top of the server's credentials).
func cliAs(t *testing.T, s *server, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for k, v := range env {
		old, had := os.LookupEnv(k)
		t.Setenv(k, v)
		defer func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		}()
	}
	var out bytes.Buffer
	code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
	return code, out.String()
}

// TestServeAdminKey: the first start writes the admin key to
// <data-dir>/credentials (mode 0600); the next start reuses it; with the
// file deleted, or naming a key the server no longer holds, the server
// makes a new one.
func TestServeAdminKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, embedded.CredentialsFile)
	check := func(s *server, made bool, what string) {
		t.Helper()
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %s has mode %v, want 0600", what, file, fi.Mode().Perm())
		}
		if got := strings.Contains(s.stderr.String(), "made the admin key"); got != made {
			t.Errorf("%s: made a new admin key = %v, want %v:\n%s", what, got, made, s.stderr.String())
		}
		if code, out := cliAs(t, s, nil, "whoami"); code != 0 || !strings.Contains(out, "arn:aws:iam::000000000000:user/admin (verified, access key "+s.creds.AccessKeyID+")") {
			t.Errorf("%s: whoami with the key of the file: %d %s", what, code, out)
		}
	}

	s := startServer(t, dir)
	check(s, true, "first start")
	first := s.creds
	s.stop()

	s = startServer(t, dir)
	check(s, false, "second start")
	if s.creds != first {
		t.Errorf("the second start changed the admin key: %s, was %s", s.creds.AccessKeyID, first.AccessKeyID)
	}
	s.stop()

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, dir)
	check(s, true, "start without the file")
	third := s.creds
	if third.AccessKeyID == first.AccessKeyID {
		t.Errorf("with the file deleted the server kept the key %s", first.AccessKeyID)
	}
	// The file names a key the store no longer holds: deleted by keys delete.
	if code, out := cliAs(t, s, nil, "keys", "delete", third.AccessKeyID); code != 0 {
		t.Fatalf("keys delete of the admin key: %d %s", code, out)
	}
	s.stop()
	s = startServer(t, dir)
	check(s, true, "start after the key was deleted")
	if s.creds == third {
		t.Errorf("the server kept the deleted key %s", third.AccessKeyID)
	}
}

// TestKeysCommands: keys create makes a key with a policy, which allows
// what the policy allows and nothing else; keys list shows no secret; keys
// delete ends the key; only the admin manages keys; a policy with an
// element Stageflow does not evaluate is refused.
func TestKeysCommands(t *testing.T) {
	s := startServer(t, t.TempDir())
	admin := func(args ...string) (int, string) { t.Helper(); return cliAs(t, s, nil, args...) }

	code, out := admin("keys", "create", "--user", "bob", "--policy", "AWSCodePipeline_ReadOnlyAccess", "-o", "json")
	if code != 0 {
		t.Fatalf("keys create: %d %s", code, out)
	}
	var bob struct {
		AccessKeyID     string   `json:"accessKeyId"`
		SecretAccessKey string   `json:"secretAccessKey"`
		Policy          []string `json:"policy"`
		User            string   `json:"user"`
		Principal       string   `json:"principal"`
	}
	if err := json.Unmarshal([]byte(out), &bob); err != nil {
		t.Fatalf("keys create -o json: %v\n%s", err, out)
	}
	if bob.AccessKeyID == "" || bob.SecretAccessKey == "" || len(bob.Policy) != 1 || bob.Policy[0] != "AWSCodePipeline_ReadOnlyAccess" ||
		bob.User != "bob" || bob.Principal != "arn:aws:iam::000000000000:user/bob" {
		t.Fatalf("keys create -o json: %+v", bob)
	}
	asBob := map[string]string{"AWS_ACCESS_KEY_ID": bob.AccessKeyID, "AWS_SECRET_ACCESS_KEY": bob.SecretAccessKey}
	bobCLI := func(args ...string) (int, string) { t.Helper(); return cliAs(t, s, asBob, args...) }

	hello := "../../examples/hello.json"
	steps := []struct {
		name string
		run  func(...string) (int, string)
		args []string
		code int
		want []string
		not  []string
	}{
		{"admin creates", admin, []string{"pipeline", "create", hello}, 0, []string{"created pipeline hello"}, nil},
		{"bob lists", bobCLI, []string{"pipeline", "list"}, 0, []string{"hello"}, nil},
		{"bob may not create", bobCLI, []string{"pipeline", "create", "../../examples/build-test-deploy.json"}, 1, []string{"AccessDeniedException", "arn:aws:iam::000000000000:user/bob"}, nil},
		{"bob may not start", bobCLI, []string{"start", "hello"}, 1, []string{"AccessDeniedException"}, nil},
		{"bob may not make keys", bobCLI, []string{"keys", "create", "--user", "eve", "--policy", "AWSCodePipeline_FullAccess"}, 1, []string{"AccessDeniedException"}, nil},
		{"bob may not list keys", bobCLI, []string{"keys", "list"}, 1, []string{"AccessDeniedException"}, nil},
		{"whoami names bob", bobCLI, []string{"whoami"}, 0, []string{"arn:aws:iam::000000000000:user/bob (verified, access key " + bob.AccessKeyID + ")", "codepipeline:ListPipelines"}, []string{"codepipeline:CreatePipeline"}},
		{"whoami names the admin", admin, []string{"whoami"}, 0, []string{"arn:aws:iam::000000000000:user/admin (verified, access key " + s.creds.AccessKeyID + ")", "codepipeline:CreatePipeline"}, nil},
		{"keys list", admin, []string{"keys", "list"}, 0, []string{bob.AccessKeyID, "bob", "AWSCodePipeline_ReadOnlyAccess", s.creds.AccessKeyID, "admin"}, []string{bob.SecretAccessKey, s.creds.SecretAccessKey}},
		{"keys list -o json", admin, []string{"keys", "list", "-o", "json"}, 0, []string{bob.AccessKeyID}, []string{bob.SecretAccessKey, s.creds.SecretAccessKey, "ecret"}},
		{"keys delete", admin, []string{"keys", "delete", bob.AccessKeyID}, 0, []string{"deleted access key " + bob.AccessKeyID}, nil},
		{"bob's key is gone", bobCLI, []string{"pipeline", "list"}, 1, []string{"UnrecognizedClientException"}, []string{"cannot reach"}},
		{"keys list after delete", admin, []string{"keys", "list"}, 0, []string{s.creds.AccessKeyID}, []string{bob.AccessKeyID}},
		{"keys create without --user", admin, []string{"keys", "create", "--policy", "AWSCodePipeline_ReadOnlyAccess"}, 2, []string{"--user is required"}, nil},
		{"keys create with an unknown policy", admin, []string{"keys", "create", "--user", "x", "--policy", "NoSuchPolicy"}, 2, []string{"--policy NoSuchPolicy is neither a built-in policy"}, nil},
	}
	for _, st := range steps {
		code, out := st.run(st.args...)
		if code != st.code {
			t.Fatalf("%s: stageflow %s: exit %d, want %d\n%s", st.name, strings.Join(st.args, " "), code, st.code, out)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", st.name, w, out)
			}
		}
		for _, w := range st.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: output holds %q:\n%s", st.name, w, out)
			}
		}
	}

	// A policy document: one Stageflow evaluates is attached under the
	// file's name; one with a Condition Stageflow does not evaluate (an
	// IP address) is refused, naming it.
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "read-hello.json")
	os.WriteFile(readOnly, []byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codepipeline:GetPipeline*", "Resource": "*"}]}`), 0o644)
	if code, out := admin("keys", "create", "--user", "carol", "--policy", readOnly); code != 0 || !strings.Contains(out, "policies: read-hello") {
		t.Errorf("keys create with a policy file: %d %s", code, out)
	}
	cond := filepath.Join(dir, "conditional.json")
	os.WriteFile(cond, []byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*",
		"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}`), 0o644)
	code, out = admin("keys", "create", "--user", "dave", "--policy", cond)
	if code != 1 || !strings.Contains(out, "Condition") {
		t.Errorf("keys create with a Condition: %d %s; want it refused naming Condition", code, out)
	}
	if _, out := admin("keys", "list"); strings.Contains(out, "dave") {
		t.Errorf("the refused key was made:\n%s", out)
	}
}

// TestClientCredentialErrors: a client command that cannot find its
// credentials says so, not that the server is out of reach; one that finds
// none is told where they are looked for.
func TestClientCredentialErrors(t *testing.T) {
	s := startServer(t, t.TempDir())
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, embedded.CredentialsFile), []byte("[other]\naws_access_key_id = x\n"), 0o600)
	empty := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no such profile", map[string]string{"AWS_PROFILE": "nope", "AWS_CONFIG_FILE": filepath.Join(empty, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(empty, "credentials")},
			[]string{"cannot find the credentials to sign requests with (named by $AWS_PROFILE)", "nope"}},
		{"a key without its secret", map[string]string{"AWS_ACCESS_KEY_ID": "SFAKX"}, []string{"(named by $AWS_ACCESS_KEY_ID)", "AWS_SECRET_ACCESS_KEY is not set"}},
		{"a credentials file without the profile", map[string]string{"STAGEFLOW_DATA_DIR": bad}, []string{"cannot find the credentials", "has no key in its profile [stageflow]"}},
		{"no credentials at all", map[string]string{"STAGEFLOW_DATA_DIR": empty}, []string{"MissingAuthenticationTokenException", "no credentials found", filepath.Join(empty, "credentials"), "STAGEFLOW_DATA_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := cliAs(t, s, tt.env, "pipeline", "list")
			if code != 1 || strings.Contains(out, "cannot reach") {
				t.Errorf("exit %d, want 1 without \"cannot reach\":\n%s", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestAuthNoneRecordsTheClaimedUser: under --auth none the client sends no
// signature (the server wrote no credentials) and the server records the
// caller it claims ($USER); signed, the caller is the verified principal
// (TestClientCommands).
func TestAuthNoneRecordsTheClaimedUser(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--auth", "none")
	if _, err := os.Stat(filepath.Join(dir, embedded.CredentialsFile)); err == nil {
		t.Errorf("--auth none wrote an admin key")
	}
	if !strings.Contains(s.stderr.String(), "AUTHENTICATION OFF (--auth none)") {
		t.Errorf("no warning:\n%s", s.stderr.String())
	}
	if code, out := cliAs(t, s, map[string]string{"USER": "carol"}, "pipeline", "create", "../../examples/hello.json"); code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	if code, out := cliAs(t, s, map[string]string{"USER": "carol"}, "executions", "hello", "-o", "json"); code != 0 || !strings.Contains(out, `"triggerDetail": "carol"`) {
		t.Errorf("the execution's trigger does not name the claimed user carol: %d %s", code, out)
	}
	if code, out := cliAs(t, s, map[string]string{"USER": "carol"}, "whoami"); code != 0 || !strings.Contains(out, "carol (NOT verified") {
		t.Errorf("whoami under --auth none: %d %s", code, out)
	}
}
