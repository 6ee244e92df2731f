package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestPutListGetDelete(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "data"))
	if names, err := s.List(); err != nil || len(names) != 0 {
		t.Fatalf("empty store lists %v, %v", names, err)
	}
	for name, value := range map[string]string{"prod/token": "s3cr3t-value", "db.pass": "hunter22", "empty": ""} {
		if err := s.Put(name, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("prod/token", "rotated-value"); err != nil {
		t.Fatal(err)
	}
	names, err := s.List()
	if err != nil || !reflect.DeepEqual(names, []string{"db.pass", "empty", "prod/token"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	for name, want := range map[string]string{"prod/token": "rotated-value", "db.pass": "hunter22", "empty": ""} {
		if got, err := s.Get(name); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if err := s.Delete("db.pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("db.pass"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "db.pass") {
		t.Errorf("Get after Delete: %v, want ErrNotFound naming the secret", err)
	}
	if err := s.Delete("db.pass"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}

	for _, f := range []string{KeyFile, SecretFile} {
		fi, err := os.Stat(filepath.Join(s.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"rotated-value", "hunter22", "s3cr3t"} {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("the secret file shows %q in clear:\n%s", v, data)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if err := s.Put("app/key", "the-value"); err != nil {
		t.Fatal(err)
	}
	other := Open(t.TempDir())
	if err := other.Put("x", "y"); err != nil {
		t.Fatal(err)
	}
	otherKey, err := os.ReadFile(filepath.Join(other.Dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T)
		do    func() error
		want  []string
	}{
		{"invalid name", nil, func() error { return s.Put("bad name!", "v") }, []string{"bad name!", "not valid"}},
		{"too long a name", nil, func() error { return s.Put(strings.Repeat("a", 513), "v") }, []string{"not valid"}},
		{"missing secret", nil, func() error { _, err := s.Get("nope"); return err }, []string{`"nope"`, "stageflow secret put nope"}},
		{"wrong key", func(t *testing.T) { write(t, filepath.Join(dir, KeyFile), otherKey) },
			func() error { _, err := s.Get("app/key"); return err }, []string{"app/key", "cannot be decrypted", KeyFile}},
		{"short key", func(t *testing.T) { write(t, filepath.Join(dir, KeyFile), []byte("short")) },
			func() error { _, err := s.Get("app/key"); return err }, []string{"32 bytes"}},
		{"no key, secrets stored", func(t *testing.T) { os.Remove(filepath.Join(dir, KeyFile)) },
			func() error { return s.Put("new", "v") }, []string{"key file", "missing"}},
		{"corrupt file", func(t *testing.T) { write(t, filepath.Join(dir, SecretFile), []byte("{")) },
			func() error { _, err := s.List(); return err }, []string{"not a Stageflow secret file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			err := tc.do()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "the-value") {
				t.Errorf("error %q shows the secret's value", err)
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each its own Store, as separate processes would be.
			if err := Open(dir).Put(string(rune('a'+i)), "value"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if names, err := Open(dir).List(); err != nil || len(names) != 20 {
		t.Errorf("List = %v, %v; want 20 names", names, err)
	}
}

func TestResolve(t *testing.T) {
	s := Open(t.TempDir())
	for name, value := range map[string]string{"plain": "plain-value", "json": `{"user":"admin","port":5432}`, "/prod/pass": "pw-value"} {
		if err := s.Put(name, value); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ref, want, err string
	}{
		{ref: "plain", want: "plain-value"},
		{ref: "json:user", want: "admin"},
		{ref: "json:port", want: "5432"},
		{ref: "json:user:AWSCURRENT", want: "admin"},
		{ref: "json", want: `{"user":"admin","port":5432}`},
		{ref: "json:nope", err: `secret "json" has no JSON key "nope"`},
		{ref: "plain:key", err: "does not hold a JSON object"},
		{ref: "plain::AWSPREVIOUS", err: "one version"},
		{ref: "arn:aws:secretsmanager:us-east-1:1:secret:plain", err: "ARN"},
		{ref: "missing", err: `secret "missing"`},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := s.SecretsManager(tc.ref)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("SecretsManager(%q) = %q, %v; want error %q", tc.ref, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("SecretsManager(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
			}
		})
	}
	if got, err := s.Parameter("/prod/pass"); err != nil || got != "pw-value" {
		t.Errorf("Parameter = %q, %v", got, err)
	}
}
