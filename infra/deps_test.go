package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"testing"
)

// subRef is a reference in an Fn::Sub string.
var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)[.}]`)

// refsOf collects the logical IDs a value refers to (Ref, Fn::GetAtt,
// Fn::Sub's ${X} and ${X.A}).
func refsOf(v any, out map[string]bool) {
	switch v := v.(type) {
	case obj:
		if r, ok := v["Ref"].(string); ok {
			out[r] = true
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) > 0 {
			out[fmt.Sprint(g[0])] = true
		}
		if s, ok := v["Fn::Sub"].(string); ok {
			for _, m := range subRef.FindAllStringSubmatch(s, -1) {
				out[m[1]] = true
			}
		}
		for _, x := range v {
			refsOf(x, out)
		}
	case []any:
		for _, x := range v {
			refsOf(x, out)
		}
	}
}

// TestNoDependencyCycle: the resources' references and DependsOn form no
// cycle (CloudFormation refuses a template with one). The api function's
// environment names the HTTP API's endpoint (PutWebhook's URLs), and the
// HTTP API's integrations name the function: the API itself must not.
func TestNoDependencyCycle(t *testing.T) {
	tp := tmpl(t, &defaults)
	deps := map[string]map[string]bool{}
	for id, r := range tp.Resources {
		d := map[string]bool{}
		refsOf(r["Properties"], d)
		for _, x := range list(r["DependsOn"]) {
			d[fmt.Sprint(x)] = true
		}
		for x := range d {
			if _, ok := tp.Resources[x]; !ok {
				delete(d, x) // a parameter or a pseudo parameter
			}
		}
		deps[id] = d
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(id string, path []string)
	visit = func(id string, path []string) {
		switch state[id] {
		case open:
			t.Fatalf("a dependency cycle: %v", append(path, tp.name(id)))
		case done:
			return
		}
		state[id] = open
		for x := range deps[id] {
			visit(x, append(path, tp.name(id)))
		}
		state[id] = done
	}
	for _, id := range slices.Sorted(maps.Keys(deps)) {
		visit(id, nil)
	}
	if !deps[tp.logicalID(t, "Api")][tp.logicalID(t, "HttpApi")] {
		t.Error("the api function does not refer to the HTTP API (its webhook base URL)")
	}
}

// logicalID returns the logical ID of the resource at a construct path.
func (tp *template) logicalID(t *testing.T, path string) string {
	t.Helper()
	for id, p := range tp.paths {
		if p == path {
			return id
		}
	}
	t.Fatalf("no resource at %s", path)
	return ""
}
