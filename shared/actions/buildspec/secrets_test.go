package buildspec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// fakeSecrets is a secret store in memory: secrets-manager references and
// parameter names alike look up the map (a json-key picks "<name>:<key>").
type fakeSecrets map[string]string

func (f fakeSecrets) SecretsManager(ref string) (string, error) { return f.Parameter(ref) }

func (f fakeSecrets) Parameter(name string) (string, error) {
	if v, ok := f[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %q is not stored", name)
}

func TestExecuteSecrets(t *testing.T) {
	store := fakeSecrets{"prod/token": "tok-VALUE-123", "db:password": "pw-VALUE-456", "/param": "param-VALUE-789", "short": "abc", "action": "act-VALUE-000"}
	spec := `version: 0.2
env:
  variables:
    PLAIN: plain
  secrets-manager:
    TOKEN: prod/token
    DB_PASS: db:password
    SHORT: short
  parameter-store:
    PARAM: /param
phases:
  build:
    commands:
      - printf '%s|%s|%s|%s|%s\n' "$TOKEN" "$DB_PASS" "$PARAM" "$ACTION" "$PLAIN" > values.txt
      - echo "token is $TOKEN"
      - printf 'db %s' "$DB_PASS"; sleep 0.1; echo ' done'
      - echo "param $PARAM, action $ACTION, short $SHORT" >&2
`
	res, log, dir := build(t, spec, Run{Secrets: store, SecretEnv: []SecretVar{{Name: "ACTION", Type: TypeSecretsManager, Ref: "action"}}})
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log)
	}
	if got, want := read(t, dir, "values.txt"), "tok-VALUE-123|pw-VALUE-456|param-VALUE-789|act-VALUE-000|plain"; got != want {
		t.Errorf("values %q, want %q", got, want)
	}
	for _, want := range []string{"token is ***", "db *** done", "param ***, action ***, short abc"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "VALUE") {
		t.Errorf("log shows a secret:\n%s", log)
	}
}

func TestMaskLog(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		writes []string
		want   string
	}{
		{"whole lines", []string{"secret"}, []string{"a secret here\n", "and secret again\n"}, "a *** here\nand *** again\n"},
		{"split across writes", []string{"secret"}, []string{"a sec", "ret he", "re\nse", "cret"}, "a *** here\n***"},
		{"longer value first", []string{"pass", "password1"}, []string{"password1 pass\n"}, "*** ***\n"},
		{"short values stay", []string{"abc", ""}, []string{"abc\n"}, "abc\n"},
		{"multi-line value", []string{"line-one\nline-two"}, []string{"line-one\n", "line-two\n"}, "***\n***\n"},
		{"nothing to mask", nil, []string{"plain"}, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w, flush := maskLog(&out, tc.values)
			for _, p := range tc.writes {
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			flush()
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}
