package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAESGCM(t *testing.T) {
	s, err := FileKey(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("secret"), []byte("SFAKID1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if got, err := s.Open(sealed, []byte("SFAKID1")); err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := s.Seal([]byte("secret"), []byte("SFAKID1"))
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	other, _ := FileKey(filepath.Join(t.TempDir(), "k"))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		s      *AESGCM
		sealed []byte
		ad     string
	}{
		{"moved to another record", s, sealed, "SFAKID2"},
		{"tampered with", s, tampered, "SFAKID1"},
		{"truncated", s, sealed[:10], "SFAKID1"},
		{"empty", s, nil, "SFAKID1"},
		{"another key", other, sealed, "SFAKID1"},
	}
	for _, tt := range tests {
		if _, err := tt.s.Open(tt.sealed, []byte(tt.ad)); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", tt.name, err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	first, err := LoadKeyFile(path)
	if err != nil || len(first) != KeySize {
		t.Fatalf("LoadKeyFile = %d bytes, %v", len(first), err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	second, err := LoadKeyFile(path)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("the key changed at the second load (%v)", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err == nil {
		t.Fatal("a key file of the wrong size was accepted")
	}
}
