package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		want    func(*Config)
		problem []string // each must appear in the error
	}{
		{name: "nothing set", ctx: nil, want: func(*Config) {}},
		{name: "command-line strings", ctx: map[string]any{
			ctxStackName: "Stageflow-dev", ctxDeletionProtection: "false", ctxLogRetentionDays: "7",
			ctxArtifactExpiration: "0", ctxLambdaDir: "out/lambda",
		}, want: func(c *Config) {
			c.StackName, c.DeletionProtection, c.LogRetentionDays, c.ArtifactExpirationDays, c.LambdaDir = "Stageflow-dev", false, 7, 0, "out/lambda"
		}},
		{name: "cdk.json values", ctx: map[string]any{
			ctxDeletionProtection: false, ctxLogRetentionDays: 365.0, ctxArtifactExpiration: 30.0,
		}, want: func(c *Config) { c.DeletionProtection, c.LogRetentionDays, c.ArtifactExpirationDays = false, 365, 30 }},
		{name: "log retention for ever", ctx: map[string]any{ctxLogRetentionDays: "0"}, want: func(c *Config) { c.LogRetentionDays = 0 }},
		{name: "every value wrong", ctx: map[string]any{
			ctxStackName: "1stack", ctxDeletionProtection: "yes", ctxLogRetentionDays: "31",
			ctxArtifactExpiration: "-1", ctxLambdaDir: " ",
		}, problem: []string{ctxStackName, ctxDeletionProtection, ctxLogRetentionDays, ctxArtifactExpiration, ctxLambdaDir, `"yes"`, `"31"`}},
		{name: "stack name with a space", ctx: map[string]any{ctxStackName: "my stack"}, problem: []string{ctxStackName}},
		{name: "stack name too long", ctx: map[string]any{ctxStackName: "S" + strings.Repeat("x", 64)}, problem: []string{ctxStackName}},
		{name: "fractional days", ctx: map[string]any{ctxArtifactExpiration: 1.5}, problem: []string{ctxArtifactExpiration}},
		{name: "expiration past ten years", ctx: map[string]any{ctxArtifactExpiration: "3654"}, problem: []string{ctxArtifactExpiration}},
		{name: "a number where a name goes", ctx: map[string]any{ctxStackName: 3.0}, problem: []string{ctxStackName}},
		{name: "console domain prefix", ctx: map[string]any{ctxConsoleDomain: "release-console"}, want: func(c *Config) { c.ConsoleDomainPrefix = "release-console" }},
		{name: "console domain prefix with upper case", ctx: map[string]any{ctxConsoleDomain: "Release"}, problem: []string{ctxConsoleDomain}},
		{name: "console domain prefix with a reserved word", ctx: map[string]any{ctxConsoleDomain: "my-cognito"}, problem: []string{ctxConsoleDomain}},
		{name: "console domain prefix too long", ctx: map[string]any{ctxConsoleDomain: strings.Repeat("a", 64)}, problem: []string{ctxConsoleDomain}},
		{name: "console domain prefix ending in a hyphen", ctx: map[string]any{ctxConsoleDomain: "release-"}, problem: []string{ctxConsoleDomain}},
		{name: "a stack name that cannot start the domain", ctx: map[string]any{ctxStackName: "Amazon-releases"}, problem: []string{ctxConsoleDomain, "Amazon-releases"}},
		{name: "that stack name with a prefix", ctx: map[string]any{ctxStackName: "Amazon-releases", ctxConsoleDomain: "releases"},
			want: func(c *Config) { c.StackName, c.ConsoleDomainPrefix = "Amazon-releases", "releases" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(func(k string) any { return tt.ctx[k] })
			if tt.problem != nil {
				if err == nil {
					t.Fatalf("LoadConfig = %+v, want an error", got)
				}
				for _, p := range tt.problem {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("error %q does not name %s", err, p)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			tt.want(&want)
			if got != want {
				t.Errorf("LoadConfig = %+v, want %+v", got, want)
			}
		})
	}
}

func TestBootstrapDir(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.LambdaDir = dir
	write := func(name string, size int64) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, name, "bootstrap"))
		if err == nil {
			err = f.Truncate(size)
			f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write("api", maxBootstrapBytes)
	write("advance", maxBootstrapBytes+1)
	if err := os.MkdirAll(filepath.Join(dir, "dispatch", "bootstrap"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec    functionSpec
		problem string
	}{
		{apiSpec, ""},
		{advanceSpec, "over the 20 MiB limit"},
		{dispatchSpec, "is not a file"},
		{functionSpec{Name: "missing"}, "make build-lambdas"},
	}
	for _, tt := range tests {
		got, err := bootstrapDir(cfg, tt.spec)
		switch {
		case tt.problem == "" && err != nil:
			t.Errorf("%s: %v", tt.spec.Name, err)
		case tt.problem == "" && got != filepath.Join(dir, tt.spec.Name):
			t.Errorf("%s: folder %s", tt.spec.Name, got)
		case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), tt.spec.Name)):
			t.Errorf("%s: error %v, want one naming the function and saying %q", tt.spec.Name, err, tt.problem)
		}
	}
}
