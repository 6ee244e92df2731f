package service_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

const testKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

func TestConnectionsSealAndNeverShowSecrets(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, ctx := srv.Service, service.LocalCaller(t.Context(), "test")
	const token = "ghp_s3cr3tT0kenValue"
	made, err := svc.CreateConnection(ctx, service.CreateConnectionInput{Name: "examples", ID: "stageflow-examples",
		Remote: "https://git.example/{FullRepositoryId}.git", Username: "bot", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if made.Arn != "arn:aws:codeconnections:"+apitest.Region+":"+apitest.Account+":connection/stageflow-examples" ||
		len(made.TriggerSecret) != 64 || !made.HasToken || made.HasSSHKey {
		t.Fatalf("created %+v", made)
	}
	// At rest: the stored bytes hold neither the token nor the secret.
	raw, err := srv.System.Store.GetConnection(ctx, store.KindConnection, "stageflow-examples")
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(raw)
	for _, secret := range []string{token, made.TriggerSecret} {
		if bytes.Contains(raw.Token, []byte(secret)) || bytes.Contains(raw.TriggerSecret, []byte(secret)) || bytes.Contains(rec, []byte(secret)) {
			t.Fatalf("the stored record holds a secret in the clear")
		}
	}
	// Sealed values are bound to their field: swapping them does not open.
	list, err := svc.ListConnections(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	out, _ := json.Marshal(list)
	if strings.Contains(string(out), token) || strings.Contains(string(out), made.TriggerSecret) || !strings.Contains(string(out), `"hasToken":true`) {
		t.Fatalf("the listing shows %s", out)
	}
	remote, err := svc.ConnectionRemote(ctx, made.Arn, "octo/app")
	if err != nil {
		t.Fatal(err)
	}
	if remote.URL != "https://git.example/octo/app.git" || remote.Token != token || remote.Username != "bot" {
		t.Fatalf("remote = %+v", remote)
	}
	// CodeStar Connections' older ARN names the same connection.
	if _, err := svc.ConnectionRemote(ctx, "arn:aws:codestar-connections:us-east-1:111122223333:connection/stageflow-examples", "a/b"); err != nil {
		t.Fatal(err)
	}
	secret, arn, err := svc.ConnectionTriggerSecret(ctx, "stageflow-examples")
	if err != nil || string(secret) != made.TriggerSecret || arn != made.Arn {
		t.Fatalf("trigger secret = %q, %q, %v", secret, arn, err)
	}
	rotated, err := svc.RotateTriggerSecret(ctx, "stageflow-examples")
	if err != nil || rotated.TriggerSecret == made.TriggerSecret || len(rotated.TriggerSecret) != 64 {
		t.Fatalf("rotated = %+v, %v", rotated, err)
	}
	if secret, _, _ := svc.ConnectionTriggerSecret(ctx, "stageflow-examples"); string(secret) != rotated.TriggerSecret {
		t.Fatalf("after rotation the secret is %q, want %q", secret, rotated.TriggerSecret)
	}
	// A connection without an ID gets a UUID.
	anon, err := svc.CreateConnection(ctx, service.CreateConnectionInput{Name: "other", Remote: "/srv/git/other"})
	if err != nil || len(anon.ID) != 36 {
		t.Fatalf("created %+v, %v", anon, err)
	}
	if r, err := svc.ConnectionRemote(ctx, anon.Arn, "ignored/here"); err != nil || r.URL != "/srv/git/other" || r.Token != "" {
		t.Fatalf("remote without placeholder = %+v, %v", r, err)
	}
	if err := svc.DeleteConnection(ctx, "stageflow-examples"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConnectionRemote(ctx, made.Arn, "octo/app"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("a deleted connection's remote: %v", err)
	}
}

func TestRepositories(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, ctx := srv.Service, service.LocalCaller(t.Context(), "test")
	repo, err := svc.CreateRepository(ctx, service.CreateConnectionInput{Name: "my-app", Remote: "git@git.example:team/my-app.git", SSHKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if repo.Arn != "arn:aws:codecommit:"+apitest.Region+":"+apitest.Account+":my-app" || !repo.HasSSHKey || repo.HasTriggerSecret {
		t.Fatalf("created %+v", repo)
	}
	r, err := svc.CodeCommitRemote(ctx, "my-app")
	if err != nil || string(r.SSHKey) != testKey || r.URL != "git@git.example:team/my-app.git" {
		t.Fatalf("remote = %+v, %v", r, err)
	}
	if _, err := svc.GetConnection(ctx, "my-app"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("a repository is not a connection: %v", err)
	}
	if err := svc.DeleteRepository(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteRepository(ctx, "my-app"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("deleting it again: %v", err)
	}
}

func TestConnectionInputErrors(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, ctx := srv.Service, service.LocalCaller(t.Context(), "test")
	tests := []struct {
		name string
		in   service.CreateConnectionInput
		want string
	}{
		{"credentials in the URL", service.CreateConnectionInput{Name: "c", Remote: "https://user:pw@git.example/r.git"}, "--token"},
		{"user in an https URL", service.CreateConnectionInput{Name: "c", Remote: "https://user@git.example/r.git"}, "--token"},
		{"http", service.CreateConnectionInput{Name: "c", Remote: "http://git.example/r.git"}, "https://"},
		{"relative path", service.CreateConnectionInput{Name: "c", Remote: "repo/here"}, "remote"},
		{"option", service.CreateConnectionInput{Name: "c", Remote: "--upload-pack=touch /tmp/x"}, "remote"},
		{"dot dot", service.CreateConnectionInput{Name: "c", Remote: "/srv/../etc"}, ".."},
		{"option as an ssh host", service.CreateConnectionInput{Name: "c", Remote: "ssh://-oProxyCommand=x/r"}, "start with -"},
		{"option as an ssh user", service.CreateConnectionInput{Name: "c", Remote: "ssh://-oX@git.example/r"}, "start with -"},
		{"file relative", service.CreateConnectionInput{Name: "c", Remote: "file://host/srv/r"}, "file://"},
		{"no remote", service.CreateConnectionInput{Name: "c"}, "remote: required"},
		{"no name", service.CreateConnectionInput{Remote: "/srv/r"}, "name"},
		{"bad id", service.CreateConnectionInput{Name: "c", ID: "a/b", Remote: "/srv/r"}, "id"},
		{"both secrets", service.CreateConnectionInput{Name: "c", Remote: "ssh://git@h/r", Token: "t", SSHKey: testKey}, "not both"},
		{"key on https", service.CreateConnectionInput{Name: "c", Remote: "https://h/r", SSHKey: testKey}, "not an SSH remote"},
		{"token with newline", service.CreateConnectionInput{Name: "c", Remote: "https://h/r", Token: "a\nb"}, "token"},
		{"not a key", service.CreateConnectionInput{Name: "c", Remote: "ssh://git@h/r", SSHKey: "hello"}, "sshKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateConnection(ctx, tc.in)
			if errs.CodeOf(err) != errs.Validation || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a validation error naming %q", err, tc.want)
			}
		})
	}
	calls := []struct {
		name string
		err  func() error
		code errs.Code
	}{
		{"delete unknown", func() error { return svc.DeleteConnection(ctx, "nope") }, errs.NotFound},
		{"get unknown", func() error { _, err := svc.GetConnection(ctx, "nope"); return err }, errs.NotFound},
		{"rotate unknown", func() error { _, err := svc.RotateTriggerSecret(ctx, "nope"); return err }, errs.NotFound},
		{"repository unknown", func() error { _, err := svc.CodeCommitRemote(ctx, "nope"); return err }, errs.NotFound},
		{"bad arn", func() error { _, err := svc.ConnectionRemote(ctx, "arn:aws:s3:::x", "a/b"); return err }, errs.Validation},
		{"bad repository id", func() error {
			if _, err := svc.CreateConnection(ctx, service.CreateConnectionInput{Name: "p", ID: "p", Remote: "/srv/{FullRepositoryId}"}); err != nil {
				return err
			}
			_, err := svc.ConnectionRemote(ctx, "arn:aws:codeconnections:r:1:connection/p", "../../etc")
			return err
		}, errs.Validation},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); errs.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestConnectionsAuthorized(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	full, _ := auth.Builtin(auth.FullAccess)
	ctx := service.WithCaller(t.Context(), service.Caller{Principal: "arn:aws:iam::" + apitest.Account + ":user/pipelines",
		Door: service.DoorREST, Verified: true, Policies: []*auth.Policy{full}})
	if _, err := srv.Service.ListPipelines(ctx, 0, ""); err != nil {
		t.Fatalf("the caller's policy allows codepipeline: actions: %v", err)
	}
	if _, err := srv.Service.CreateConnection(ctx, service.CreateConnectionInput{Name: "c", Remote: "/srv/r"}); errs.CodeOf(err) != errs.Forbidden ||
		!strings.Contains(err.Error(), "stageflow:CreateConnection") {
		t.Fatalf("AWSCodePipeline_FullAccess creating a connection: %v", err)
	}
	if _, err := srv.Service.ListRepositories(ctx); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("AWSCodePipeline_FullAccess listing repositories: %v", err)
	}
}
