package kms_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/stageflow/stageflow/shared/seal"
	"github.com/stageflow/stageflow/shared/seal/kms"
	"github.com/stageflow/stageflow/shared/seal/kms/kmstest"
)

const keyARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// clock is a settable clock for the cache's TTL.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newSealer returns a sealer whose SDK client talks to a loopback fake.
func newSealer(t *testing.T, o kms.Options) (*kms.Sealer, *kmstest.Fake) {
	t.Helper()
	fake := kmstest.NewFake(keyARN)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := awskms.New(awskms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	s, err := kms.New(client, keyARN, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, fake
}

func count(calls []string, target string) int {
	n := 0
	for _, c := range calls {
		if c == target {
			n++
		}
	}
	return n
}

func TestRoundTrip(t *testing.T) {
	s, fake := newSealer(t, kms.Options{TTL: -1}) // no cache: every Open asks KMS
	tests := []struct{ plaintext, additional string }{
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SFAKABCDEFGHIJKLMNOP"},
		{"x", ""},
		{"secret", "base64:looks-encoded"},
		{"secret", "\xff\xfe not utf-8"},
	}
	for _, tt := range tests {
		sealed, err := s.Seal([]byte(tt.plaintext), []byte(tt.additional))
		if err != nil {
			t.Fatalf("Seal(%q): %v", tt.additional, err)
		}
		// (A plaintext this short may turn up in random bytes by chance:
		// only a longer one is looked for.)
		if len(tt.plaintext) >= 6 && bytes.Contains(sealed, []byte(tt.plaintext)) {
			t.Errorf("sealed value holds the plaintext %q", tt.plaintext)
		}
		got, err := s.Open(sealed, []byte(tt.additional))
		if err != nil || string(got) != tt.plaintext {
			t.Errorf("Open(Seal(%q)) = %q, %v", tt.plaintext, got, err)
		}
	}
	if n := count(fake.Calls(), "TrentService.Decrypt"); n != len(tests) {
		t.Errorf("%d Decrypt calls, want %d (no cache)", n, len(tests))
	}
}

func TestRefused(t *testing.T) {
	s, _ := newSealer(t, kms.Options{TTL: -1})
	sealed, err := s.Seal([]byte("the secret"), []byte("SFAKAAAAAAAAAAAAAAAA"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	otherFormat := bytes.Clone(sealed)
	otherFormat[0] = 9
	tests := []struct {
		name               string
		sealed, additional []byte
	}{
		{"wrong context", sealed, []byte("SFAKBBBBBBBBBBBBBBBB")},
		{"no context", sealed, nil},
		{"context in base64 of the same bytes", sealed, []byte("base64:U0ZBS0FBQUFBQUFBQUFBQUFBQUE=")},
		{"tampered ciphertext", tampered, []byte("SFAKAAAAAAAAAAAAAAAA")},
		{"unknown format", otherFormat, []byte("SFAKAAAAAAAAAAAAAAAA")},
		{"truncated", sealed[:1], []byte("SFAKAAAAAAAAAAAAAAAA")},
		{"empty", nil, []byte("SFAKAAAAAAAAAAAAAAAA")},
	}
	for _, tt := range tests {
		got, err := s.Open(tt.sealed, tt.additional)
		if !errors.Is(err, seal.ErrOpen) {
			t.Errorf("%s: Open = %q, %v; want seal.ErrOpen", tt.name, got, err)
		}
	}
}

func TestCache(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)}
	s, fake := newSealer(t, kms.Options{TTL: time.Minute, MaxEntries: 2, Now: c.now})
	additional := []byte("SFAKAAAAAAAAAAAAAAAA")
	sealed, err := s.Seal([]byte("the secret"), additional)
	if err != nil {
		t.Fatal(err)
	}
	decrypts := func() int { return count(fake.Calls(), "TrentService.Decrypt") }
	open := func(what string, wantDecrypts int) {
		t.Helper()
		got, err := s.Open(sealed, additional)
		if err != nil || string(got) != "the secret" {
			t.Fatalf("%s: Open = %q, %v", what, got, err)
		}
		got[0] = 'X' // the caller's copy: the cache keeps its own
		if n := decrypts(); n != wantDecrypts {
			t.Errorf("%s: %d Decrypt calls, want %d", what, n, wantDecrypts)
		}
	}
	open("just sealed", 0)
	open("again", 0)
	// Another context misses the cache and is refused by KMS.
	if _, err := s.Open(sealed, []byte("SFAKBBBBBBBBBBBBBBBB")); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open with another context = %v, want seal.ErrOpen", err)
	}
	c.t = c.t.Add(time.Minute) // expired
	open("after the TTL", 2)
	open("cached again", 2)
	// Bounded: two more values push the first out.
	for _, id := range []string{"SFAKCCCCCCCCCCCCCCCC", "SFAKDDDDDDDDDDDDDDDD"} {
		c.t = c.t.Add(time.Second)
		if _, err := s.Seal([]byte("other"), []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 2 {
		t.Errorf("cache holds %d values, want at most 2", s.Len())
	}
	open("evicted", 3)
}

func TestKMSFailureIsNotErrOpen(t *testing.T) {
	s, fake := newSealer(t, kms.Options{TTL: -1})
	sealed, err := s.Seal([]byte("the secret"), []byte("id"))
	if err != nil {
		t.Fatal(err)
	}
	fake.Deny(true)
	_, err = s.Open(sealed, []byte("id"))
	if err == nil || errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open with KMS denying = %v; want an error that is not ErrOpen (the value is not at fault)", err)
	}
	if _, err := s.Seal([]byte("x"), []byte("id")); err == nil {
		t.Error("Seal with KMS denying succeeded")
	}
}

func TestNew(t *testing.T) {
	if _, err := kms.New(nil, keyARN, kms.Options{}); err == nil {
		t.Error("New with no client succeeded")
	}
	if _, err := kms.New(awskms.New(awskms.Options{}), " ", kms.Options{}); err == nil {
		t.Error("New with no key ID succeeded")
	}
}
