// Package apispec is the one table of the CodePipeline API definition's
// shapes that Stageflow enforces: each named shape (botocore's
// service-2.json) with its length or value bounds, pattern and enumeration,
// and the one wording of the problem when a value breaks them. Lengths are
// counted in characters (runes), as the API definition means.
//
// The pipeline validator (shared/pipeline) and the strict JSON decoder
// (shared/strictjson, through `api:"shape=Name"` struct tags) read it; a
// test compares it with the definition the AWS CLI ships.
//
// A door (the REST or the JSON 1.1 protocol handler) uses it in one of two
// ways. Either it names shapes in the tags of its input types and lets the
// decoder check them:
//
//	type getPipelineInput struct {
//		Name    string `json:"name" api:"required,shape=PipelineName"`
//		Version *int   `json:"version" api:"shape=PipelineVersion"`
//	}
//
//	var in getPipelineInput
//	problems := strictjson.Decode(body, &in, strictjson.Options{NullAsAbsent: true})
//	if problems.Has(strictjson.Syntax, strictjson.Type) { ... SerializationException ... }
//	if len(problems) > 0 { ... ValidationException listing problems.Errs() ... }
//
// or it checks a value it got elsewhere (a path or query parameter):
//
//	if msg := apispec.MustLookup("PipelineName").Check(name); msg != "" {
//		return errs.Invalid("invalid request", []errs.Problem{{Path: "name", Message: msg}})
//	}
package apispec

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Shape is one shape of the API definition with the constraints the
// definition gives it.
type Shape struct {
	Name string // shape name in the API definition, e.g. "ActionName"
	Type string // "string", "integer", "list" or "map"
	// Min and Max bound a string's length (in characters), a list's or
	// map's number of entries, or an integer's value. Max 0 means no upper
	// bound.
	Min, Max int
	Pattern  string   // regular expression as the definition spells it; "" if none
	Enum     []string // allowed values of an enumeration; nil if none
	// Member names the shape of a list's elements, Key and Value those of
	// a map's keys and values, when the table holds that shape ("" if not,
	// e.g. for a structure).
	Member, Key, Value string
	// What says what Pattern allows, as the end of a sentence ("may only
	// contain letters, digits and _"); set for every shape with a pattern.
	What string

	re *regexp.Regexp // Pattern anchored at both ends
}

var table = map[string]*Shape{}

// define adds a shape to the table.
func define(s Shape) *Shape {
	if s.Pattern != "" {
		if s.What == "" {
			panic("apispec: shape " + s.Name + " has a pattern but no description")
		}
		s.re = regexp.MustCompile(`^(?:` + s.Pattern + `)$`)
	}
	if _, dup := table[s.Name]; dup {
		panic("apispec: shape defined twice: " + s.Name)
	}
	table[s.Name] = &s
	return &s
}

// Lookup returns the shape of that name, or nil. The shape is shared: do not
// modify it.
func Lookup(name string) *Shape { return table[name] }

// MustLookup is Lookup for a name that must be in the table; it panics
// otherwise (a programming error, found by any test that reaches it).
func MustLookup(name string) *Shape {
	s := table[name]
	if s == nil {
		panic(fmt.Sprintf("apispec: no shape %q in the table", name))
	}
	return s
}

// All returns a copy of every shape of the table, sorted by name.
func All() []Shape {
	out := make([]Shape, 0, len(table))
	for _, s := range table {
		c := *s
		c.Enum = append([]string(nil), s.Enum...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Matches reports whether s matches the shape's pattern (true when it has
// none).
func (s *Shape) Matches(v string) bool { return s.re == nil || s.re.MatchString(v) }

// Check checks a value against the shape and returns the problem as a plain
// sentence ("must be 1..100 characters long, got 101"), or "" when the value
// is fine. A string is checked by CheckString, an integer by CheckInt, a
// slice or map by CheckCount (its number of entries); other values are not
// checked.
func (s *Shape) Check(v any) string {
	switch x := v.(type) {
	case string:
		return s.CheckString(x)
	case int:
		return s.CheckInt(int64(x))
	case int32:
		return s.CheckInt(int64(x))
	case int64:
		return s.CheckInt(x)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map {
		return s.CheckCount(rv.Len())
	}
	return ""
}

// CheckString checks a string's enumeration, length and pattern.
func (s *Shape) CheckString(v string) string { return s.checkString("", v) }

// CheckKey checks a map key against the shape; the sentence names the key
// (`key "a b" may only contain ...`).
func (s *Shape) CheckKey(k string) string {
	return s.checkString(fmt.Sprintf("key %q ", Truncate(k, 60)), k)
}

// checkString is CheckString with the subject of the sentence: "" for the
// value at the path itself.
func (s *Shape) checkString(subject, v string) string {
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			if v == e {
				return ""
			}
		}
		if subject == "" {
			return fmt.Sprintf("must be one of %s, got %q", strings.Join(s.Enum, ", "), Truncate(v, 40))
		}
		return subject + "must be one of " + strings.Join(s.Enum, ", ")
	}
	n := utf8.RuneCountInString(v)
	switch {
	case n < s.Min && s.Max == 0:
		return fmt.Sprintf("%smust be at least %d characters long, got %d", subject, s.Min, n)
	case n < s.Min || s.Max > 0 && n > s.Max:
		if s.Min == 0 {
			return fmt.Sprintf("%smust be at most %d characters long, got %d", subject, s.Max, n)
		}
		return fmt.Sprintf("%smust be %d..%d characters long, got %d", subject, s.Min, s.Max, n)
	case !s.Matches(v):
		if subject == "" {
			subject = fmt.Sprintf("%q ", Truncate(v, 60))
		}
		return subject + s.What
	}
	return ""
}

// CheckInt checks an integer's value.
func (s *Shape) CheckInt(n int64) string {
	switch {
	case s.Max == 0 && n < int64(s.Min):
		return fmt.Sprintf("must be at least %d, got %d", s.Min, n)
	case s.Max > 0 && (n < int64(s.Min) || n > int64(s.Max)):
		return fmt.Sprintf("must be %d..%d, got %d", s.Min, s.Max, n)
	}
	return ""
}

// CheckCount checks the number of entries of a list or map.
func (s *Shape) CheckCount(n int) string {
	if n >= s.Min && (s.Max == 0 || n <= s.Max) {
		return ""
	}
	switch {
	case s.Min == s.Max:
		entries := "entries"
		if s.Min == 1 {
			entries = "entry"
		}
		return fmt.Sprintf("must have exactly %d %s, got %d", s.Min, entries, n)
	case s.Max == 0:
		return fmt.Sprintf("must have at least %d entries, got %d", s.Min, n)
	case s.Min == 0:
		return fmt.Sprintf("must have at most %d entries, got %d", s.Max, n)
	}
	return fmt.Sprintf("must have %d..%d entries, got %d", s.Min, s.Max, n)
}

// Truncate shortens s to n characters, marking the cut with "…".
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
