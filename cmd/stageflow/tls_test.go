package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/embedded"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stageflow test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeBeyondLoopback: a non-loopback address needs TLS or an explicit
// --insecure-http, which warns; with TLS the server answers over HTTPS.
// --auth none is refused beyond loopback, and warns on it; otherwise
// requests are signed with the admin key the server wrote.
func TestServeBeyondLoopback(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	tests := []struct {
		name    string
		args    []string
		refused string // part of the error; "" when the server starts
		scheme  string
		warns   string
	}{
		{"plain HTTP on all interfaces is refused", []string{"--addr", "0.0.0.0:0"}, "--insecure-http", "", ""},
		{"a certificate without its key", []string{"--addr", "0.0.0.0:0", "--tls-cert", certFile}, "go together", "", ""},
		{"a key that is not a key", []string{"--addr", "0.0.0.0:0", "--tls-cert", certFile, "--tls-key", certFile}, "--tls-key", "", ""},
		{"TLS on all interfaces", []string{"--addr", "0.0.0.0:0", "--tls-cert", certFile, "--tls-key", keyFile}, "", "https", ""},
		{"explicitly insecure", []string{"--addr", "0.0.0.0:0", "--insecure-http"}, "", "http", "INSECURE"},
		{"TLS on loopback", []string{"--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile}, "", "https", ""},
		{"--auth none beyond loopback", []string{"--addr", "0.0.0.0:0", "--insecure-http", "--auth", "none"}, "--auth none is only allowed on a loopback --addr", "", ""},
		{"--auth none with TLS beyond loopback", []string{"--addr", "0.0.0.0:0", "--tls-cert", certFile, "--tls-key", keyFile, "--auth", "none"}, "--auth none is only allowed on a loopback --addr", "", ""},
		{"--auth none on loopback", []string{"--addr", "127.0.0.1:0", "--auth", "none"}, "", "http", "AUTHENTICATION OFF (--auth none)"},
		{"an unknown --auth", []string{"--addr", "127.0.0.1:0", "--auth", "basic"}, `--auth must be sigv4 or none, not "basic"`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			root := newRootCmd()
			dataDir := t.TempDir()
			root.SetArgs(append([]string{"serve", "--data-dir", dataDir, "--shutdown-grace", "5s"}, tt.args...))
			root.SetOut(stdout)
			root.SetErr(stderr)
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			if tt.refused != "" {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), tt.refused) {
						t.Fatalf("error %v, want one naming %q", err, tt.refused)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("serve started; it should have refused")
				}
				return
			}
			re := regexp.MustCompile(`endpoint=(https?)://\S*:(\d+)`)
			var m []string
			for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
				m = re.FindStringSubmatch(stderr.String())
				select {
				case err := <-done:
					t.Fatalf("serve ended: %v\n%s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve did not say where it listens:\n%s", stderr.String())
				}
			}
			if m[1] != tt.scheme {
				t.Fatalf("scheme %s, want %s", m[1], tt.scheme)
			}
			if tt.warns != "" && !strings.Contains(stderr.String(), tt.warns) {
				t.Fatalf("no %q warning:\n%s", tt.warns, stderr.String())
			}
			var transport http.RoundTripper = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			credsFile := filepath.Join(dataDir, embedded.CredentialsFile)
			if authNone(tt.args) {
				if _, err := os.Stat(credsFile); err == nil {
					t.Errorf("--auth none wrote an admin key to %s", credsFile)
				}
			} else {
				id, secret, err := embedded.ReadCredentialsFile(credsFile, embedded.CredentialsProfile)
				if err != nil {
					t.Fatalf("serve wrote no admin key: %v", err)
				}
				transport = &awssign.Transport{Base: transport, Region: embedded.DefaultRegion,
					Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")}
			}
			client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
			resp, err := client.Get(m[1] + "://127.0.0.1:" + m[2] + "/v1/pipelines")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /v1/pipelines: %d", resp.StatusCode)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
		})
	}
}
