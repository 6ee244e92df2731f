package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad checks that Load never panics or hangs, that whatever it returns
// marshals, that it is deterministic, that it rejects a document with a
// repeated object member, and that a document it accepts round-trips to
// exactly the same JSON value and loads again.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"pipeline": {"name": "p", "stages": []}, "tags": [{"key": "k", "value": ""}]}`))
	f.Add([]byte(`{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 1,
		"actionTypeId": {"category": "Build", "owner": "AWS", "provider": "Commands", "version": "1"},
		"commands": ["echo #{codepipeline.PipelineExecutionId} #{x"]}]}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Load(data)
		if doc == nil {
			if err == nil {
				t.Fatal("Load returned neither a document nor an error")
			}
			return
		}
		out, merr := json.Marshal(doc)
		if merr != nil {
			t.Fatalf("Marshal of a loaded document failed: %v", merr)
		}
		_, err2 := Load(data)
		if errString(err) != errString(err2) {
			t.Fatalf("Load is not deterministic:\n%v\n%v", err, err2)
		}
		if err != nil {
			return
		}
		if hasDuplicateKeys(data) {
			t.Fatalf("Load accepted a document with a repeated object member:\n%s", data)
		}
		in, ierr := jsonValue(data)
		again, aerr := jsonValue(out)
		if ierr != nil || aerr != nil {
			t.Fatalf("decoding for comparison: %v, %v", ierr, aerr)
		}
		if !reflect.DeepEqual(in, again) {
			t.Fatalf("round trip changed the document:\n in: %s\nout: %s", data, out)
		}
		if _, err := Load(out); err != nil {
			t.Fatalf("the marshalled document does not load: %v\n%s", err, out)
		}
	})
}

// hasDuplicateKeys reports whether some object of a JSON document has the
// same member name twice.
func hasDuplicateKeys(data []byte) bool {
	type frame struct {
		object    bool
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].expectKey {
			if key, ok := tok.(string); ok {
				if stack[n-1].keys[key] {
					return true
				}
				stack[n-1].keys[key] = true
				stack[n-1].expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzRefs checks the reference scanner: references cover exactly their
// text, and substituting every reference by itself gives the input back.
func FuzzRefs(f *testing.F) {
	for _, s := range []string{"", "#{a.b}", "x#{a.b.c}y#{", "#{}#{.}#{a.}", "##{{a.b}}}", "#{a\n.b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs, err := Refs(s)
		last := 0
		for _, r := range refs {
			if r.Start < last || r.End > len(s) || s[r.Start:r.End] != r.String() {
				t.Fatalf("bad ref %+v in %q", r, s)
			}
			if r.Namespace == "" || r.Name == "" || strings.Contains(r.Namespace, ".") || strings.Contains(r.Name, "}") {
				t.Fatalf("bad ref parts %+v in %q", r, s)
			}
			last = r.End
		}
		got, serr := Substitute(s, func(ns, name string) (string, bool) { return "#{" + ns + "." + name + "}", true })
		if (err == nil) != (serr == nil) {
			t.Fatalf("Refs error %v but Substitute error %v", err, serr)
		}
		if serr == nil && got != s {
			t.Fatalf("identity substitution changed %q to %q", s, got)
		}
	})
}

func TestHasDuplicateKeys(t *testing.T) {
	cases := map[string]bool{
		`{}`: false,
		`{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}`: false,
		`{"a": 1, "a": 2}`:                   true,
		`{"a": {"x": [], "y": {}, "x": 1}}`:  true,
		`[{"k": "a"}, {"k": "b", "k": "c"}]`: true,
		`{"a": ["a", "a"], "b": "a"}`:        false,
	}
	for doc, want := range cases {
		if got := hasDuplicateKeys([]byte(doc)); got != want {
			t.Errorf("hasDuplicateKeys(%s) = %v, want %v", doc, got, want)
		}
	}
}
