package embedded

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, id, secret string
		missing, fails         bool
	}{
		{name: "the profile", path: write("good", "# comment\n[other]\naws_access_key_id = A\naws_secret_access_key = B\n\n[stageflow]\naws_access_key_id = SFAKX\naws_secret_access_key = s3cr/t+\n"), id: "SFAKX", secret: "s3cr/t+"},
		{name: "no such file", path: filepath.Join(dir, "none"), missing: true, fails: true},
		{name: "no such profile", path: write("other", "[other]\naws_access_key_id = A\naws_secret_access_key = B\n"), fails: true},
		{name: "no secret", path: write("half", "[stageflow]\naws_access_key_id = A\n"), fails: true},
	}
	for _, tt := range tests {
		id, secret, err := ReadCredentialsFile(tt.path, CredentialsProfile)
		if (err != nil) != tt.fails || errors.Is(err, fs.ErrNotExist) != tt.missing || id != tt.id || secret != tt.secret {
			t.Errorf("%s: %q %q %v", tt.name, id, secret, err)
		}
	}
}
