package embedded

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadArtifactKey(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadArtifactKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
		t.Fatalf("key %x", first)
	}
	path := filepath.Join(dir, ArtifactKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", fi.Mode(), err)
	}
	// A restart reads the same key, so jobs keep their credentials.
	again, err := LoadArtifactKey(dir)
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("second load: %x %v, want %x", again, err, first)
	}
	if other, _ := LoadArtifactKey(t.TempDir()); bytes.Equal(other, first) {
		t.Error("two data directories share a key")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data directory holds %d files, want the key only", len(entries))
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadArtifactKey(dir); err == nil {
		t.Error("a short key was accepted")
	}
}
