package strictjson

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The types of the tests: an input in the way a door tags it.

type tag struct {
	Key   string `json:"key" api:"required,shape=TagKey"`
	Value string `json:"value" api:"required,shape=TagValue"`
}

type action struct {
	Name     string `json:"name" api:"required,shape=ActionName"`
	RunOrder *int   `json:"runOrder" api:"shape=ActionRunOrder"`
	Enabled  *bool  `json:"enabled"`
	Weight   float64
}

type stage struct {
	Name    string   `json:"name" api:"required,shape=StageName"`
	Actions []action `json:"actions"`
}

type input struct {
	Name      string            `json:"name" api:"required,shape=PipelineName"`
	Category  string            `json:"category" api:"shape=ActionCategory"`
	Stages    []stage           `json:"stages"`
	Tags      []tag             `json:"tags"`
	TagKeys   []string          `json:"tagKeys" api:"shape=TagKeyList"`
	Commands  []string          `json:"commands" api:"shape=CommandList"`
	Outputs   map[string]string `json:"outputVariables" api:"shape=OutputVariablesMap"`
	Query     map[string]string `json:"queryParam" api:"shape=QueryParamMap"`
	Pipeline  json.RawMessage   `json:"pipeline" api:"object"`
	Anything  any               `json:"anything"`
	Execution string            `json:"pipelineExecutionId" api:"shape=PipelineExecutionId"`
	Variables map[string]string `json:"variables" api:"shape=PipelineVariableList,key=PipelineVariableName,value=PipelineVariableValue"`
}

// want is a problem as "class path: message".
func render(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s", p.Class, p.String()))
	}
	return out
}

func TestDecodeProblems(t *testing.T) {
	const base = `"name": "p"`
	cases := []struct {
		name string
		doc  string
		opts Options
		want []string
	}{
		{name: "fine", doc: `{` + base + `, "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 2}]}]}`},
		{name: "syntax", doc: "{\n  \"name\": \"p\",\n  \"stages\": [1,]\n}",
			want: []string{"syntax line 3, column 16: malformed JSON: invalid character ']' looking for beginning of value"}},
		{name: "syntax column counts characters", doc: `{"name": "é€😀" x}`,
			want: []string{"syntax line 1, column 16: malformed JSON: invalid character 'x' after object key:value pair"}},
		{name: "ends too early", doc: `{"name": `, want: []string{"syntax line 1, column 10: malformed JSON: the document ends too early"}},
		{name: "empty", doc: ``, want: []string{"syntax line 1, column 1: malformed JSON: the document ends too early"}},
		{name: "trailing data", doc: "{" + base + "}\n  {}", want: []string{"syntax line 2, column 3: unexpected data after the JSON document"}},
		{name: "root not an object", doc: `[1]`, want: []string{"type must be an object, got an array"}},
		{name: "wrong types", doc: `{"name": 1, "stages": {}, "tags": [{"key": true, "value": "v"}], "anything": [null]}`,
			want: []string{
				"type name: must be a string, got the number 1",
				"type stages: must be an array, got an object",
				"type tags[0].key: must be a string, got true",
			}},
		{name: "integers", doc: `{` + base + `, "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 1.5}, {"name": "B", "runOrder": "1"}, {"name": "C", "runOrder": 3000000000}, {"name": "D", "enabled": 1, "Weight": "x"}]}]}`,
			want: []string{
				"type stages[0].actions[0].runOrder: must be a whole number, got 1.5",
				`type stages[0].actions[1].runOrder: must be an integer, got the string "1"`,
				"type stages[0].actions[2].runOrder: must be a whole number, got 3000000000",
				`type stages[0].actions[3].Weight: must be a number, got the string "x"`,
				"type stages[0].actions[3].enabled: must be true or false, got the number 1",
			}},
		{name: "long string in a message is cut at a character", doc: `{"name": "` + strings.Repeat("é", 50) + `", "pipeline": []}`,
			want: []string{
				`constraint name: "` + strings.Repeat("é", 50) + `" may only contain letters, digits and . @ _ -`,
				"type pipeline: must be an object, got an array",
			}},
		{name: "unknown fields", doc: `{` + base + `, "Name": "q", "stagse": [], "tgas": [], "colour": 1, "stages": [{"name": "S", "actions": [{"name": "A", "runorder": 1, "runOrdr": 2}]}]}`,
			want: []string{
				`unknown Name: unknown field "Name" (did you mean "name"?)`,
				`unknown colour: unknown field "colour"`,
				`unknown stages[0].actions[0].runOrdr: unknown field "runOrdr" (did you mean "runOrder"?)`,
				`unknown stages[0].actions[0].runorder: unknown field "runorder" (did you mean "runOrder"?)`,
				`unknown stagse: unknown field "stagse" (did you mean "stages"?)`,
				`unknown tgas: unknown field "tgas" (did you mean "tags"?)`,
			}},
		{name: "repeated keys at depth", doc: `{` + base + `, "name": "q", "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 0, "runOrder": 1}]}], "outputVariables": {"a": "1", "a": "2", "a": "3"}}`,
			want: []string{
				`duplicate name: key "name" appears more than once in the object`,
				`duplicate stages[0].actions[0].runOrder: key "runOrder" appears more than once in the object`,
				`duplicate outputVariables.a: key "a" appears more than once in the object`,
			}},
		{name: "problems under a repeated member are left out", doc: `{` + base + `, "tags": [], "tags": [{"key": 1}]}`,
			want: []string{`duplicate tags: key "tags" appears more than once in the object`}},
		{name: "nulls", doc: `{"name": null, "stages": [null], "commands": ["ls", null], "outputVariables": {"x": null}, "tags": null}`,
			want: []string{
				"null commands[1]: must not be null",
				"null name: must not be null",
				"null outputVariables.x: must not be null",
				"null stages[0]: must not be null",
				"null tags: must not be null",
			}},
		{name: "null as absent", doc: `{"name": null, "category": null, "stages": [null], "outputVariables": {"x": null}}`, opts: Options{NullAsAbsent: true},
			want: []string{
				"required name: is required",
				"null outputVariables.x: must not be null",
				"null stages[0]: must not be null",
			}},
		{name: "required absent", doc: `{"tags": [{"value": ""}], "stages": [{"actions": [{}]}]}`,
			want: []string{
				"required stages[0].actions[0].name: is required",
				"required stages[0].name: is required",
				"required tags[0].key: is required",
				"required name: is required",
			}},
		{name: "constraints", doc: `{"name": "my pipeline", "category": "build", "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 0}]}], "pipelineExecutionId": "x"}`,
			want: []string{
				`constraint category: must be one of Source, Build, Deploy, Test, Invoke, Approval, Compute, got "build"`,
				`constraint name: "my pipeline" may only contain letters, digits and . @ _ -`,
				`constraint pipelineExecutionId: "x" must be an ID of the form 01234567-89ab-cdef-0123-456789abcdef (lower-case hexadecimal)`,
				"constraint stages[0].actions[0].runOrder: must be 1..999, got 0",
			}},
		{name: "length in characters, not bytes", doc: `{` + base + `, "tags": [{"key": "` + strings.Repeat("é", 128) + `", "value": "` + strings.Repeat("€", 257) + `"}]}`,
			want: []string{"constraint tags[0].value: must be at most 256 characters long, got 257"}},
		{name: "list shape and its members", doc: `{` + base + `, "commands": [], "tagKeys": ["", "k"]}`,
			want: []string{
				"constraint commands: must have 1..50 entries, got 0",
				"constraint tagKeys[0]: must be 1..128 characters long, got 0",
			}},
		{name: "map shape, keys and values", doc: `{` + base + `, "queryParam": {"a": "x y", "b": "1"}, "outputVariables": {"ok": "1", "not.ok": "2"}}`,
			want: []string{
				`constraint outputVariables: key "not.ok" may only contain letters, digits and @ _ -`,
				"constraint queryParam: must have at most 1 entries, got 2",
				`constraint queryParam.a: "x y" may only contain letters, digits, _ and -`,
			}},
		{name: "key and value shapes of a map", doc: `{` + base + `, "variables": {"OK": "1", "no way": "2", "LONG": "` + strings.Repeat("v", 1001) + `", "EMPTY": ""}}`,
			want: []string{
				"constraint variables.EMPTY: must be 1..1000 characters long, got 0",
				"constraint variables.LONG: must be 1..1000 characters long, got 1001",
				`constraint variables: key "no way" may only contain letters, digits and @ _ -`,
			}},
		{name: "a map's count from a list shape", doc: `{` + base + `, "variables": {}}`,
			want: []string{"constraint variables: must have 1..50 entries, got 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in input
			got := render(Decode([]byte(tc.doc), &in, tc.opts))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems of\n%s\ngot:\n  %s\nwant:\n  %s", tc.doc, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

type roundtrip struct {
	Name   string            `json:"name"`
	Region string            `json:"region,omitempty"`
	Note   *string           `json:"note,omitempty"`
	Config map[string]string `json:"configuration,omitzero"`
}

func TestRoundtripOption(t *testing.T) {
	cases := []struct {
		doc  string
		opts Options
		want []string
	}{
		{doc: `{"name": "n", "note": "", "configuration": {"k": ""}}`, opts: Options{Roundtrip: true}},
		{doc: `{"region": ""}`, opts: Options{Roundtrip: true},
			want: []string{"constraint region: must not be empty", "required name: is required"}},
		{doc: `{"name": null}`, opts: Options{Roundtrip: true, NullAsAbsent: true}, want: []string{"required name: is required"}},
		{doc: `{"region": ""}`}, // without Roundtrip the json tags are no schema
	}
	for _, tc := range cases {
		var v roundtrip
		if got := render(Decode([]byte(tc.doc), &v, tc.opts)); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s %+v: got %q, want %q", tc.doc, tc.opts, got, tc.want)
		}
	}
}

func TestDecodeFillsTheValue(t *testing.T) {
	var in input
	problems := Decode([]byte(`{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 2}]}], "pipeline": {"a": 1}, "extra": 1}`), &in, Options{})
	if len(problems) != 1 || problems[0].Class != Unknown {
		t.Fatalf("problems: %v", problems)
	}
	if in.Name != "p" || *in.Stages[0].Actions[0].RunOrder != 2 || string(in.Pipeline) != `{"a": 1}` {
		t.Errorf("decoded %+v", in)
	}
}

func TestProblemsHelpers(t *testing.T) {
	var in input
	ps := Decode([]byte(`{"name": 1, "colour": 2}`), &in, Options{})
	if !ps.Has(Type) || ps.Has(Syntax, Null) || len(ps.Of(Unknown)) != 1 {
		t.Errorf("Has/Of wrong for %v", ps)
	}
	if got, want := ps.Error(), `colour: unknown field "colour"; name: must be a string, got the number 1`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e := ps.Errs(); len(e) != 2 || e[0].Path != "colour" {
		t.Errorf("Errs() = %v", e)
	}
	if Decode([]byte(`{"name": "p"}`), &in, Options{}) != nil {
		t.Error("no problems must be nil")
	}
	syn := Decode([]byte("{\n\n   x"), &in, Options{})
	if len(syn) != 1 || syn[0].Line != 3 || syn[0].Column != 4 {
		t.Errorf("syntax position: %+v", syn)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"name", "runOrder", "actionTypeId", "id"}
	for k, want := range map[string]string{
		"NAME":         "name",
		"nmae":         "name",
		"runOrdre":     "runOrder",
		"actiontypeid": "actionTypeId",
		"actionType":   "actionTypeId",
		"tpye":         "",
		"ix":           "", // one edit, but half of a two-letter name
		"colour":       "",
	} {
		got := suggest(k, names)
		if want == "" && got != "" || want != "" && got != fmt.Sprintf(" (did you mean %q?)", want) {
			t.Errorf("suggest(%q) = %q, want %q", k, got, want)
		}
	}
}

type badShape struct {
	X string `json:"x" api:"shape=NoSuchShape"`
}

type badOption struct {
	X string `json:"x" api:"requried"`
}

// badKey names a key shape for a field that is not a map.
type badKey struct {
	Name string `json:"name" api:"key=TagKey"`
}

func TestBadTagsPanic(t *testing.T) {
	for _, v := range []any{&badShape{}, &badOption{}, &badKey{}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%T: no panic", v)
				}
			}()
			Decode([]byte(`{}`), v, Options{})
		}()
	}
}

type embedded struct {
	Inner
	Outer string `json:"outer"`
}

// Inner is embedded in a test type.
type Inner struct {
	Name string `json:"name" api:"required"`
}

func TestMembers(t *testing.T) {
	got := Members(reflect.TypeOf(embedded{}))
	if len(got) != 2 || got[0].Name != "name" || !got[0].Required || got[1].Name != "outer" {
		t.Errorf("Members = %+v", got)
	}
	if m := Members(reflect.TypeOf(input{})); m[0].Shape != "PipelineName" {
		t.Errorf("Members(input)[0] = %+v", m[0])
	}
	var e embedded
	if got := render(Decode([]byte(`{"outer": "o"}`), &e, Options{})); len(got) != 1 || got[0] != "required name: is required" {
		t.Errorf("embedded: %q", got)
	}
}
