// Package kmstest is a stand-in for AWS KMS's Encrypt and Decrypt on
// loopback, for the tests of the packages that seal with KMS.
package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// Fake answers Encrypt and Decrypt in KMS's JSON 1.1 protocol (X-Amz-Target
// TrentService.<Operation>, base64 blobs, errors as {"__type", "message"}),
// as the SDK's request and response snapshots show it; the SDK's own client
// is what talks to it. KMS cannot run here. Its ciphertext is AES-GCM under
// a random key of the fake, the encryption context and the key ARN as
// additional data, so a changed byte, another context or another key is
// refused with InvalidCiphertextException as KMS refuses it.
type Fake struct {
	// KeyARN is the one key the fake holds (NewFake sets it).
	KeyARN string
	aead   cipher.AEAD
	deny   bool
	mu     sync.Mutex
	calls  []string
}

// NewFake returns a fake holding the key keyARN.
func NewFake(keyARN string) *Fake {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return &Fake{KeyARN: keyARN, aead: aead}
}

// Calls returns the operations called so far, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Deny makes every call from now on answer AccessDeniedException (deny
// true) or be served again (false).
func (f *Fake) Deny(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = deny
}

// request holds the members of EncryptInput and DecryptInput the fake
// reads, under their wire names.
type request struct {
	KeyId               string
	Plaintext           []byte
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	f.mu.Lock()
	f.calls = append(f.calls, target)
	deny := f.deny
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		fail(w, http.StatusBadRequest, "ValidationException", "not a JSON 1.1 request")
		return
	}
	var in request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if deny {
		fail(w, http.StatusBadRequest, "AccessDeniedException", "User is not authorized to perform kms operations on this key")
		return
	}
	if in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		fail(w, http.StatusBadRequest, "ValidationException", "unsupported encryption algorithm")
		return
	}
	switch target {
	case "TrentService.Encrypt":
		if in.KeyId != f.KeyARN {
			fail(w, http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyId))
			return
		}
		if len(in.Plaintext) == 0 || len(in.Plaintext) > 4096 {
			fail(w, http.StatusBadRequest, "ValidationException", "plaintext must hold 1 to 4096 bytes")
			return
		}
		nonce := make([]byte, f.aead.NonceSize())
		rand.Read(nonce)
		blob := f.aead.Seal(nonce, nonce, in.Plaintext, f.additional(in.EncryptionContext))
		answer(w, map[string]any{"CiphertextBlob": blob, "KeyId": f.KeyARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	case "TrentService.Decrypt":
		if in.KeyId != "" && in.KeyId != f.KeyARN {
			fail(w, http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify the key that encrypted the ciphertext")
			return
		}
		n := f.aead.NonceSize()
		if len(in.CiphertextBlob) < n+f.aead.Overhead() {
			fail(w, http.StatusBadRequest, "InvalidCiphertextException", "")
			return
		}
		plain, err := f.aead.Open(nil, in.CiphertextBlob[:n], in.CiphertextBlob[n:], f.additional(in.EncryptionContext))
		if err != nil {
			fail(w, http.StatusBadRequest, "InvalidCiphertextException", "")
			return
		}
		answer(w, map[string]any{"Plaintext": plain, "KeyId": f.KeyARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	default:
		fail(w, http.StatusBadRequest, "UnknownOperationException", "")
	}
}

// additional is the key ARN and the encryption context, sorted, each
// string length-prefixed.
func (f *Fake) additional(ec map[string]string) []byte {
	var b []byte
	put := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	put(f.KeyARN)
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		put(k)
		put(ec[k])
	}
	return b
}

func answer(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v) // []byte members encode as base64, as KMS's blobs are
	w.Write(body)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Write(body)
}
