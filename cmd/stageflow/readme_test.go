package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/embedded"
)

// TestREADMEQuickStartAWSCLI runs the AWS CLI lines of the README's quick
// start, as written, against a server loaded with the examples, on a
// machine whose AWS CLI has nothing configured: HOME is an empty folder and
// the environment holds PATH alone, plus what the lines export. They sign
// with the admin key the server wrote to its data directory.
func TestREADMEQuickStartAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws command is not on PATH (make test installs it)")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, quick, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	quick, _, _ = strings.Cut(quick, "\n## ")
	var script []string
	for _, l := range strings.Split(quick, "\n") {
		if strings.HasPrefix(l, "export AWS_") || strings.HasPrefix(l, "aws ") {
			script = append(script, l)
		}
	}
	if len(script) == 0 || !strings.Contains(strings.Join(script, "\n"), "aws codepipeline") {
		t.Fatalf("the quick start has no AWS CLI line:\n%s", quick)
	}
	const readmeEndpoint = "http://127.0.0.1:8480"
	// The lines name the credentials file of `make run`'s data directory,
	// run from the repository: here, the test server's.
	const readmeCredentials = "$PWD/.stageflow/credentials"
	dir := t.TempDir()
	s := startServer(t, dir, "--load", "../../examples")
	lines := strings.Join(script, "\n")
	body := strings.ReplaceAll(lines, readmeEndpoint, s.endpoint)
	if body == lines {
		t.Fatalf("the AWS CLI lines do not use the endpoint %s:\n%s", readmeEndpoint, body)
	}
	if !strings.Contains(body, readmeCredentials) {
		t.Fatalf("the AWS CLI lines do not use the credentials file %s that make run writes:\n%s", readmeCredentials, body)
	}
	body = strings.ReplaceAll(body, readmeCredentials, filepath.Join(dir, embedded.CredentialsFile))
	// --load runs once the server listens: wait for the examples.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct{ Pipelines []any }
		if s.get(t, "/v1/pipelines", &list); len(list.Pipelines) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the examples were not loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euc", body)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's AWS CLI lines failed (%v) with HOME empty:\n%s\n---\n%s", err, body, out)
	}
	if !strings.Contains(string(out), "build-test-deploy") || !strings.Contains(string(out), "hello") {
		t.Errorf("list-pipelines does not list the examples:\n%s", out)
	}
}
