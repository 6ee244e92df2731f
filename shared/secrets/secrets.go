// Package secrets is Stageflow's local secret store: named values,
// encrypted with AES-256-GCM in the data directory, that builds read where
// CodeBuild would read AWS Secrets Manager or Systems Manager Parameter
// Store. One store serves both: a secrets-manager reference and a
// parameter-store name are looked up among the same names.
//
// The key is 32 random bytes in <data-dir>/secrets.key (mode 0600), made at
// the first Put. The secrets are in <data-dir>/secrets.json (mode 0600):
// {"version": 1, "secrets": {name: base64(nonce || ciphertext)}}, each value
// sealed with the name as additional data, so a ciphertext cannot be moved
// to another name. The file is replaced by an atomic rename, and every
// operation holds an exclusive lock (flock) on <data-dir>/secrets.lock, so
// the command line can change secrets while a server reads them.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
)

// The store's files in the data directory.
const (
	KeyFile    = "secrets.key"
	SecretFile = "secrets.json"
	LockFile   = "secrets.lock"
)

// ErrNotFound is returned (wrapped) for a name the store does not hold.
var ErrNotFound = errors.New("no such secret")

// nameRE is AWS Secrets Manager's rule for secret names: 1 to 512 of ASCII
// letters, digits and /_+=.@- (Parameter Store names fit it too).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// CheckName tells whether name is a valid secret name.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("secret name %q is not valid: use 1 to 512 letters, digits and /_+=.@-", name)
	}
	return nil
}

// Store is the secret store of one data directory. Its methods open the
// files anew each time; a Store needs no closing.
type Store struct{ Dir string }

// Open returns the store of a data directory. Nothing is read or made yet.
func Open(dataDir string) *Store { return &Store{Dir: dataDir} }

type file struct {
	Version int               `json:"version"`
	Secrets map[string]string `json:"secrets"`
}

// Put stores value under name, replacing any earlier value.
func (s *Store) Put(name, value string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return s.locked(func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		// A new key only for an empty store: with secrets but no key,
		// they stay undecryptable rather than mixed with new ones.
		aead, err := s.cipher(len(f.Secrets) == 0)
		if err != nil {
			return err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		f.Secrets[name] = base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(value), []byte(name)))
		return s.write(f)
	})
}

// Get returns the value stored under name; a missing name is ErrNotFound.
func (s *Store) Get(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	var value string
	err := s.locked(func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		sealed, ok := f.Secrets[name]
		if !ok {
			return fmt.Errorf("secret %q: %w in the local secret store of %s (add it with `stageflow secret put %s`)", name, ErrNotFound, s.Dir, name)
		}
		aead, err := s.cipher(false)
		if err != nil {
			return err
		}
		value, err = open(aead, name, sealed)
		if err != nil {
			return fmt.Errorf("secret %q cannot be decrypted with %s: %w (was the key file replaced?)", name, s.path(KeyFile), err)
		}
		return nil
	})
	return value, err
}

// List returns the names of the stored secrets, sorted; never their values.
func (s *Store) List() ([]string, error) {
	var names []string
	err := s.locked(func() error {
		f, err := s.read()
		names = slices.Sorted(maps.Keys(f.Secrets))
		return err
	})
	return names, err
}

// Delete removes a secret; a missing name is ErrNotFound.
func (s *Store) Delete(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return s.locked(func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		if _, ok := f.Secrets[name]; !ok {
			return fmt.Errorf("secret %q: %w", name, ErrNotFound)
		}
		delete(f.Secrets, name)
		return s.write(f)
	})
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// locked runs fn holding the store's lock.
func (s *Store) locked(fn func() error) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	lf, err := os.OpenFile(s.path(LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("secrets: locking %s: %w", lf.Name(), err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return fn()
}

// read reads the secrets file; a missing one is an empty store.
func (s *Store) read() (*file, error) {
	f := &file{Version: 1, Secrets: map[string]string{}}
	data, err := os.ReadFile(s.path(SecretFile))
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("secrets: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil || f.Version != 1 {
		return f, fmt.Errorf("secrets: %s is not a Stageflow secret file (version 1): %v", s.path(SecretFile), err)
	}
	if f.Secrets == nil {
		f.Secrets = map[string]string{}
	}
	return f, nil
}

// write replaces the secrets file atomically.
func (s *Store) write(f *file) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, SecretFile+".*")
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(SecretFile)); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

// cipher loads the key, making it first when create is set.
func (s *Store) cipher(create bool) (cipher.AEAD, error) {
	p := s.path(KeyFile)
	key, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) && create {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		err = os.WriteFile(p, key, 0o600)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secrets: the key file %s is missing, so no secret can be decrypted", p)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets: the key file %s must hold 32 bytes, not %d", p, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func open(aead cipher.AEAD, name, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("the stored value is corrupt")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return "", errors.New("authentication failed")
	}
	return string(plain), nil
}
