package apispec

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/apispec/apidef"
)

// TestTableMatchesAPIDefinition compares every shape of the table with the
// API definition the AWS CLI ships. A value the definition adds to an
// enumeration is logged, not failed (a newer AWS CLI must not break the
// build); a removed value, another type, bound, pattern or element shape
// fails.
func TestTableMatchesAPIDefinition(t *testing.T) {
	def := apidef.ForTest(t)
	for _, s := range All() {
		for _, d := range drift(s, def.Shapes) {
			if strings.HasPrefix(d, "added ") {
				t.Logf("%s: the API definition %s", s.Name, d)
			} else {
				t.Errorf("%s: %s", s.Name, d)
			}
		}
	}
}

// drift lists how a shape of the table differs from the definition's; the
// entries for values the definition adds to an enumeration start "added ".
func drift(s Shape, api map[string]apidef.Shape) []string {
	a, ok := api[s.Name]
	if !ok {
		return []string{"not in the API definition"}
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if a.Type != s.Type {
		add("type %s, the API definition says %s", s.Type, a.Type)
	}
	if apidef.Deref(a.Min) != s.Min || apidef.Deref(a.Max) != s.Max {
		add("bounds %d..%d, the API definition says %d..%d", s.Min, s.Max, apidef.Deref(a.Min), apidef.Deref(a.Max))
	}
	if a.Pattern != s.Pattern {
		add("pattern %q, the API definition says %q", s.Pattern, a.Pattern)
	}
	for _, v := range s.Enum {
		if !slices.Contains(a.Enum, v) {
			add("enum value %q is no longer in the API definition (%v)", v, a.Enum)
		}
	}
	for _, v := range a.Enum {
		if !slices.Contains(s.Enum, v) {
			add("added the enum value %q", v)
		}
	}
	for _, ref := range []struct {
		what, ours string
		theirs     *apidef.Ref
	}{{"member", s.Member, a.Member}, {"key", s.Key, a.Key}, {"value", s.Value, a.Value}} {
		if ref.ours != "" && (ref.theirs == nil || ref.theirs.Shape != ref.ours) {
			add("%s shape %s, the API definition says %v", ref.what, ref.ours, ref.theirs)
		}
	}
	return out
}

// TestDriftIsFound makes sure the comparison can fail.
func TestDriftIsFound(t *testing.T) {
	api := map[string]apidef.Shape{"E": {Type: "string", Enum: []string{"A", "C"}}, "S": {Type: "string", Min: ptr(1), Max: ptr(9), Pattern: "x+"}}
	got := append(drift(Shape{Name: "E", Type: "string", Enum: []string{"A", "B"}}, api),
		drift(Shape{Name: "S", Type: "string", Min: 1, Max: 10, Pattern: "y+"}, api)...)
	got = append(got, drift(Shape{Name: "Gone", Type: "string"}, api)...)
	want := []string{
		`enum value "B" is no longer in the API definition ([A C])`,
		`added the enum value "C"`,
		`bounds 1..10, the API definition says 1..9`,
		`pattern "y+", the API definition says "x+"`,
		`not in the API definition`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("drift:\n got %q\nwant %q", got, want)
	}
}

func ptr(n int) *int { return &n }

// TestInputMembersUseTableShapes checks that the shape named for each input
// member is the definition's and is in the table.
func TestInputMembersUseTableShapes(t *testing.T) {
	def := apidef.ForTest(t)
	for ref, name := range apidef.InputMembers {
		if Lookup(name) == nil {
			t.Errorf("%s: shape %s is not in the table", ref, name)
		}
		structure, member, _ := strings.Cut(ref, ".")
		if got := def.Shapes[structure].Members[member].Shape; got != name {
			t.Errorf("%s: the table names %s, the API definition says %q", ref, name, got)
		}
	}
}
