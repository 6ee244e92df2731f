package rest

import (
	"regexp"
	"testing"
)

// TestPatterns checks the route list infra declares at API Gateway: one
// "METHOD /v1/..." pattern per route, each once, in the syntax route keys
// take (literal segments and whole-segment {variables}).
func TestPatterns(t *testing.T) {
	key := regexp.MustCompile(`^(GET|POST|PUT|DELETE) /v1(/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9]*\}))+$`)
	got := Patterns()
	if len(got) != len((&Handler{}).routes()) || len(got) == 0 {
		t.Fatalf("Patterns() = %d patterns, the route table has %d", len(got), len((&Handler{}).routes()))
	}
	seen := map[string]bool{}
	for _, p := range got {
		if !key.MatchString(p) {
			t.Errorf("pattern %q is not a route key API Gateway takes", p)
		}
		if seen[p] {
			t.Errorf("pattern %q listed twice", p)
		}
		seen[p] = true
	}
	for _, want := range []string{"POST /v1/pipelines", "GET /v1/pipelines/{name}/executions/{id}/actions/{runId}/logs",
		"POST /v1/validate", "GET /v1/action-types"} {
		if !seen[want] {
			t.Errorf("Patterns() lacks %q", want)
		}
	}
}
