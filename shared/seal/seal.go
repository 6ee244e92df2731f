// Package seal encrypts the secrets Stageflow stores (access keys' secret
// access keys): a Sealer seals a plaintext bound to additional data (the
// record it belongs to, so that a sealed value cannot be moved to another
// record) and opens what it sealed. The local server seals with AES-256-GCM
// under a key file of its data directory (FileKey); the deployed one with a
// data key of AWS KMS (package seal/kms).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/stageflow/stageflow/shared/atomicfile"
)

// Sealer seals and opens secrets. Open fails for a value it did not seal
// with the same additional data.
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
	Open(sealed, additional []byte) ([]byte, error)
}

// KeySize is the size of an AES-256 key.
const KeySize = 32

// ErrOpen is the error of a value that does not open: tampered with, moved
// to another record, or sealed under another key.
var ErrOpen = errors.New("seal: the sealed value does not open under this key (tampered with, or sealed under another key)")

// AESGCM seals with AES-256-GCM: a random 12-byte nonce, then the
// ciphertext and its tag.
type AESGCM struct{ aead cipher.AEAD }

// NewAESGCM returns a sealer of a KeySize-byte key.
func NewAESGCM(key []byte) (*AESGCM, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: the key holds %d bytes, not %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &AESGCM{aead: aead}, nil
}

// Seal seals plaintext bound to additional.
func (s *AESGCM) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce) // never fails (crypto/rand panics instead)
	return s.aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open opens a value Seal sealed with the same additional data.
func (s *AESGCM) Open(sealed, additional []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// LoadKeyFile reads a KeySize-byte key file, making it first (random, mode
// 0600, written to a temporary file and renamed, so that path never holds a
// partial key) when there is none. The caller owns the folder: no other
// process races it.
func LoadKeyFile(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the key %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("the key %s holds %d bytes, not %d", path, len(key), KeySize)
	}
	return key, nil
}

// FileKey returns an AES-GCM sealer under the key file at path (LoadKeyFile).
func FileKey(path string) (*AESGCM, error) {
	key, err := LoadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return NewAESGCM(key)
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	rand.Read(key)
	if err := atomicfile.Write(path, key); err != nil {
		return nil, fmt.Errorf("writing the key %s: %w", path, err)
	}
	return key, nil
}
