package rest

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/service"
)

func TestRESTConnections(t *testing.T) {
	env := newRESTEnv(t)
	var made service.ConnectionSecret
	env.ok("POST", "/v1/connections", map[string]string{"name": "examples", "id": "stageflow-examples",
		"remote": "https://git.example/{FullRepositoryId}.git", "token": "tok-SECRET-1"}, 201, &made)
	if made.ID != "stageflow-examples" || len(made.TriggerSecret) != 64 || !made.HasToken ||
		made.Arn != "arn:aws:codeconnections:"+env.sys.Service.Region()+":123456789012:connection/stageflow-examples" {
		t.Fatalf("created %+v", made)
	}
	for _, path := range []string{"/v1/connections", "/v1/connections/stageflow-examples"} {
		_, _, data := env.do("GET", path, nil)
		if s := string(data); strings.Contains(s, "tok-SECRET-1") || strings.Contains(s, made.TriggerSecret) || !strings.Contains(s, `"hasToken":true`) {
			t.Fatalf("GET %s shows %s", path, s)
		}
	}
	var list RESTConnections
	env.ok("GET", "/v1/connections", nil, 200, &list)
	if len(list.Connections) != 1 || list.Connections[0].Remote != "https://git.example/{FullRepositoryId}.git" {
		t.Fatalf("list = %+v", list)
	}
	var rotated service.ConnectionSecret
	env.ok("POST", "/v1/connections/stageflow-examples/trigger-secret", nil, 200, &rotated)
	if rotated.TriggerSecret == made.TriggerSecret || len(rotated.TriggerSecret) != 64 {
		t.Fatalf("rotated %+v", rotated)
	}
	env.ok("DELETE", "/v1/connections/stageflow-examples", nil, 204, nil)

	var repo service.Connection
	env.ok("POST", "/v1/repositories", map[string]string{"name": "my-app", "remote": "/srv/git/my-app"}, 201, &repo)
	if repo.Arn != "arn:aws:codecommit:"+env.sys.Service.Region()+":123456789012:my-app" {
		t.Fatalf("repository %+v", repo)
	}
	var repos RESTRepositories
	env.ok("GET", "/v1/repositories", nil, 200, &repos)
	if len(repos.Repositories) != 1 || repos.Repositories[0].ID != "my-app" {
		t.Fatalf("repositories = %+v", repos)
	}
	env.ok("GET", "/v1/repositories/my-app", nil, 200, nil)
	env.ok("DELETE", "/v1/repositories/my-app", nil, 204, nil)

	env.ok("POST", "/v1/repositories", map[string]string{"name": "again", "remote": "/srv/r"}, 201, nil)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, problem      string
	}{
		{"credentials in URL", "POST", "/v1/connections", map[string]string{"name": "c", "remote": "https://u:p@h/r"}, 400, "ValidationException", "~--token"},
		{"unknown field", "POST", "/v1/connections", `{"name":"c","remote":"/srv/r","password":"x"}`, 400, "ValidationException", ""},
		{"no remote", "POST", "/v1/connections", `{"name":"c"}`, 400, "ValidationException", ""},
		{"empty body", "POST", "/v1/repositories", nil, 400, "ValidationException", ""},
		{"repository with id", "POST", "/v1/repositories", `{"name":"r","id":"x","remote":"/srv/r"}`, 400, "ValidationException", ""},
		{"twice", "POST", "/v1/repositories", `{"name":"again","remote":"/srv/r"}`, 409, "ConflictException", ""},
		{"get unknown", "GET", "/v1/connections/nope", nil, 404, "ResourceNotFoundException", ""},
		{"delete unknown", "DELETE", "/v1/connections/nope", nil, 404, "ResourceNotFoundException", ""},
		{"rotate unknown", "POST", "/v1/connections/nope/trigger-secret", nil, 404, "ResourceNotFoundException", ""},
		{"rotate with a body", "POST", "/v1/connections/nope/trigger-secret", `{"secret":"mine"}`, 400, "ValidationException", ""},
		{"delete unknown repository", "DELETE", "/v1/repositories/nope", nil, 404, "ResourceNotFoundException", ""},
		{"bad id", "GET", "/v1/connections/a%20b", nil, 400, "ValidationException", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			restExpectError(t, env, tc.method, tc.path, tc.body, tc.status, tc.code, tc.problem)
		})
	}
}
