// Package kms seals Stageflow's stored secrets with AWS KMS (the deployed
// server's seal.Sealer): each secret is encrypted by KMS itself under one
// symmetric KMS key, the additional data carried as KMS's encryption
// context, and the values opened are kept in a small in-memory cache so that
// a warm function does not call KMS on every request it verifies.
//
// Why Encrypt and Decrypt rather than envelope encryption with a data key:
// what is sealed is an access key's secret (40 characters, far below KMS's
// 4 KiB plaintext limit) and a key is made rarely, so one KMS call per
// sealed value costs nothing that matters, while the key material never
// leaves KMS (no data key to hold in the function's memory, to rotate or to
// lose), KMS rotates the key itself, and every opening is a Decrypt call
// that CloudTrail records with its encryption context — the record the
// secret belongs to. The cache, not a data key, is what keeps warm requests
// from calling KMS.
package kms

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/stageflow/stageflow/shared/seal"
)

// API is what the sealer calls of KMS (the SDK's *kms.Client).
type API interface {
	Encrypt(ctx context.Context, in *awskms.EncryptInput, optFns ...func(*awskms.Options)) (*awskms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *awskms.DecryptInput, optFns ...func(*awskms.Options)) (*awskms.DecryptOutput, error)
}

// ContextKey is the encryption-context key that carries the additional
// data. A value that is valid UTF-8 (an access key ID) is carried as it is,
// readable in CloudTrail; any other, and one that starts with base64Prefix,
// as base64Prefix and its standard base64 — one encoding per value, so two
// different additional data never share a context.
const ContextKey = "stageflow:sealed-for"

const base64Prefix = "base64:"

// formatV1 is the first byte of every sealed value: the KMS ciphertext blob
// follows. A later format (envelope encryption, say) gets another byte, and
// values stored by this release still open.
const formatV1 = 1

// Defaults of Options.
const (
	DefaultTTL        = 5 * time.Minute
	DefaultMaxEntries = 1024
	// callTimeout bounds one KMS call: the api function answers within
	// API Gateway's 30 seconds.
	callTimeout = 10 * time.Second
)

// Options tune the cache of opened values.
type Options struct {
	// TTL is how long an opened value is kept (DefaultTTL when 0; a
	// negative TTL keeps nothing). A key deleted from the store is refused
	// by the store, not by the cache; the TTL bounds how long a secret
	// lives in memory.
	TTL time.Duration
	// MaxEntries bounds the cache (DefaultMaxEntries when 0).
	MaxEntries int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Sealer seals under one KMS key. It is safe for concurrent use.
type Sealer struct {
	api   API
	keyID string
	ttl   time.Duration
	max   int
	now   func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]entry
}

type entry struct {
	plaintext []byte
	expires   time.Time
}

// New returns a sealer under the symmetric KMS key keyID (its ARN, ID or
// alias ARN; the ARN is best: Decrypt then refuses a value sealed under any
// other key).
func New(api API, keyID string, o Options) (*Sealer, error) {
	if api == nil {
		return nil, errors.New("kms sealer: no KMS client")
	}
	if strings.TrimSpace(keyID) == "" {
		return nil, errors.New("kms sealer: no KMS key ID")
	}
	s := &Sealer{api: api, keyID: keyID, ttl: o.TTL, max: o.MaxEntries, now: o.Now, cache: map[[sha256.Size]byte]entry{}}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.max <= 0 {
		s.max = DefaultMaxEntries
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// encryptionContext carries additional as KMS's encryption context.
func encryptionContext(additional []byte) map[string]string {
	v := string(additional)
	if !utf8.Valid(additional) || strings.HasPrefix(v, base64Prefix) {
		v = base64Prefix + base64.StdEncoding.EncodeToString(additional)
	}
	return map[string]string{ContextKey: v}
}

// Seal encrypts plaintext with KMS, bound to additional.
func (s *Sealer) Seal(plaintext, additional []byte) ([]byte, error) {
	if len(plaintext) == 0 || len(plaintext) > 4096 {
		return nil, fmt.Errorf("kms sealer: KMS encrypts 1 to 4096 bytes, not %d", len(plaintext))
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.api.Encrypt(ctx, &awskms.EncryptInput{
		KeyId: &s.keyID, Plaintext: plaintext, EncryptionContext: encryptionContext(additional),
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, fmt.Errorf("kms sealer: encrypting with KMS key %s: %w", s.keyID, err)
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("kms sealer: KMS key %s answered no ciphertext", s.keyID)
	}
	sealed := append([]byte{formatV1}, out.CiphertextBlob...)
	s.remember(sealed, additional, plaintext)
	return sealed, nil
}

// Open decrypts a value Seal sealed with the same additional data, from
// the cache when it was opened (or sealed) within the TTL. A value that
// KMS refuses (tampered with, sealed for other additional data or under
// another key) is seal.ErrOpen; a failure to reach KMS is another error.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return nil, seal.ErrOpen
	}
	if p, ok := s.cached(sealed, additional); ok {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.api.Decrypt(ctx, &awskms.DecryptInput{
		KeyId: &s.keyID, CiphertextBlob: sealed[1:], EncryptionContext: encryptionContext(additional),
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	var invalid *types.InvalidCiphertextException
	var incorrect *types.IncorrectKeyException
	switch {
	case errors.As(err, &invalid), errors.As(err, &incorrect):
		return nil, seal.ErrOpen
	case err != nil:
		return nil, fmt.Errorf("kms sealer: decrypting with KMS key %s: %w", s.keyID, err)
	}
	s.remember(sealed, additional, out.Plaintext)
	return append([]byte(nil), out.Plaintext...), nil
}

// cacheKey names a sealed value together with its additional data: a value
// opened for one record is not found for another.
func cacheKey(sealed, additional []byte) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:", len(additional))
	h.Write(additional)
	h.Write(sealed)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (s *Sealer) cached(sealed, additional []byte) ([]byte, bool) {
	if s.ttl < 0 {
		return nil, false
	}
	k := cacheKey(sealed, additional)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[k]
	if !ok {
		return nil, false
	}
	if !s.now().Before(e.expires) {
		delete(s.cache, k)
		return nil, false
	}
	return append([]byte(nil), e.plaintext...), true
}

func (s *Sealer) remember(sealed, additional, plaintext []byte) {
	if s.ttl < 0 {
		return
	}
	k := cacheKey(sealed, additional)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[k]; !ok && len(s.cache) >= s.max {
		s.evict(now)
	}
	s.cache[k] = entry{plaintext: append([]byte(nil), plaintext...), expires: now.Add(s.ttl)}
}

// evict makes room: the expired entries go, and when none had expired, the
// one that expires first.
func (s *Sealer) evict(now time.Time) {
	var first [sha256.Size]byte
	var firstExp time.Time
	for k, e := range s.cache {
		if !now.Before(e.expires) {
			delete(s.cache, k)
			continue
		}
		if firstExp.IsZero() || e.expires.Before(firstExp) {
			first, firstExp = k, e.expires
		}
	}
	if len(s.cache) >= s.max {
		delete(s.cache, first)
	}
}

// Len is the number of values in the cache (tests).
func (s *Sealer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cache)
}

var _ seal.Sealer = (*Sealer)(nil)

// NewFromConfig returns a sealer under keyID whose KMS client is made of
// the AWS configuration (the function's role, its region).
func NewFromConfig(cfg aws.Config, keyID string, o Options) (*Sealer, error) {
	return New(awskms.NewFromConfig(cfg), keyID, o)
}
