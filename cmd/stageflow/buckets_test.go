package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBucketCommands: the bucket commands against a real server, the
// secret access key read from a file and the environment and never shown.
func TestBucketCommands(t *testing.T) {
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("file-SECRET-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := cliAs(t, s, nil, "bucket", "create", "releases", "--s3-endpoint", "https://s3.example:9000",
		"--access-key-id", "AKIDEXAMPLE", "--secret-file", secretFile, "--region", "eu-west-1", "--path-style")
	if code != 0 || !strings.Contains(out, "created bucket releases at https://s3.example:9000 (eu-west-1)") {
		t.Fatalf("bucket create: %d %s", code, out)
	}
	code, out = cliAs(t, s, map[string]string{"SF_TEST_SECRET": "env-SECRET-value"}, "bucket", "create", "local-minio",
		"--s3-endpoint", "http://127.0.0.1:9000", "--access-key-id", "minio", "--secret-env", "SF_TEST_SECRET", "-o", "json")
	var made struct {
		Name, Region       string
		HasSecretAccessKey bool
	}
	if err := json.Unmarshal([]byte(out), &made); code != 0 || err != nil || made.Name != "local-minio" || made.Region != "us-east-1" || !made.HasSecretAccessKey {
		t.Fatalf("bucket create -o json: %d %s", code, out)
	}
	code, out = cliAs(t, s, nil, "bucket", "list")
	if code != 0 || !strings.Contains(out, "releases") || !strings.Contains(out, "path-style") || !strings.Contains(out, "local-minio") ||
		!strings.Contains(out, "AKIDEXAMPLE") || strings.Contains(out, "SECRET-value") {
		t.Fatalf("bucket list: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "bucket", "delete", "releases", "local-minio"); code != 0 || !strings.Contains(out, "deleted bucket local-minio") {
		t.Fatalf("bucket delete: %d %s", code, out)
	}
	if code, out = cliAs(t, s, nil, "bucket", "list", "-o", "json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("bucket list after deleting: %d %s", code, out)
	}

	failures := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no endpoint", nil, []string{"bucket", "create", "b-1", "--access-key-id", "k", "--secret-file", secretFile}, "--s3-endpoint is required"},
		{"no access key", nil, []string{"bucket", "create", "b-1", "--s3-endpoint", "https://s3.example", "--secret-file", secretFile}, "--access-key-id is required"},
		{"no secret", nil, []string{"bucket", "create", "b-1", "--s3-endpoint", "https://s3.example", "--access-key-id", "k"}, "--secret-file"},
		{"both secret sources", nil, []string{"bucket", "create", "b-1", "--s3-endpoint", "https://s3.example", "--access-key-id", "k",
			"--secret-file", secretFile, "--secret-env", "X"}, "not both"},
		{"unset env", nil, []string{"bucket", "create", "b-1", "--s3-endpoint", "https://s3.example", "--access-key-id", "k",
			"--secret-env", "SF_TEST_UNSET_VAR"}, "not set"},
		{"http elsewhere", nil, []string{"bucket", "create", "b-1", "--s3-endpoint", "http://s3.example", "--access-key-id", "k",
			"--secret-file", secretFile}, "loopback"},
		{"bad name", nil, []string{"bucket", "create", "Bad_Name", "--s3-endpoint", "https://s3.example", "--access-key-id", "k",
			"--secret-file", secretFile}, "bucket name"},
		{"no secret flag", nil, []string{"bucket", "create", "b-1", "--secret-access-key", "x"}, "unknown flag"},
		{"delete unknown", nil, []string{"bucket", "delete", "nope"}, "not found"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			code, out := cliAs(t, s, tc.env, tc.args...)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("%v: %d %s; want a failure naming %q", tc.args, code, out, tc.want)
			}
			if strings.Contains(out, "file-SECRET-value") {
				t.Fatalf("the failure shows the secret: %s", out)
			}
		})
	}
}
