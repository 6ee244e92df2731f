package cpdoor_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/apispec/apidef"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// TestInputTagsMatchAPIDefinition walks the input type of every operation
// the door implements along the API definition's structures and compares
// each member's `api` tag with the checklist (apidef.InputMembers, which the
// apispec fidelity test compares with the definition): the shape it names,
// and whether it is required. A member the definition does not have, a
// constrained member without a shape, a shape the checklist does not list
// and a checklist entry no input type has all fail.
func TestInputTagsMatchAPIDefinition(t *testing.T) {
	def := apidef.ForTest(t)
	seen := map[string]bool{}
	var walk func(goType reflect.Type, structure string)
	walk = func(goType reflect.Type, structure string) {
		api, ok := def.Shapes[structure]
		if !ok || api.Type != "structure" {
			t.Errorf("%s: not a structure of the API definition", structure)
			return
		}
		for _, m := range strictjson.Members(goType) {
			ref := structure + "." + m.Name
			apiRef, ok := api.Members[m.Name]
			if !ok {
				t.Errorf("%s (%s): the API definition has no such member", ref, goType)
				continue
			}
			seen[ref] = true
			want, listed := apidef.InputMembers[ref]
			switch {
			case listed && m.Shape == "":
				t.Errorf("%s: the api tag names no shape; the checklist says %s", ref, want)
			case listed && m.Shape != want:
				t.Errorf("%s: the api tag names %s; the checklist says %s", ref, m.Shape, want)
			case !listed && m.Shape != "":
				t.Errorf("%s: the api tag names %s, which the checklist does not list", ref, m.Shape)
			case !listed && apispec.Lookup(apiRef.Shape) != nil:
				t.Errorf("%s: its shape %s is in the table, but neither the checklist nor the api tag names it", ref, apiRef.Shape)
			}
			if required := slices.Contains(api.Required, m.Name); m.Required != required {
				t.Errorf("%s: api tag required=%v, the API definition says %v", ref, m.Required, required)
			}
			elem, name := m.Type, apiRef.Shape
			for elem.Kind() == reflect.Pointer {
				elem = elem.Elem()
			}
			if list := def.Shapes[name]; list.Type == "list" && list.Member != nil && elem.Kind() == reflect.Slice {
				elem, name = elem.Elem(), list.Member.Shape
			}
			if def.Shapes[name].Type == "structure" && elem.Kind() == reflect.Struct {
				walk(elem, name)
			}
		}
	}
	for _, op := range cpdoor.Operations() {
		walk(cpdoor.InputType(op), op+"Input")
	}
	for ref := range apidef.InputMembers {
		if !seen[ref] {
			t.Errorf("%s: the checklist lists it, but no input type of the door has it", ref)
		}
	}
}
