package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/errs"
)

// MaxDocumentBytes bounds the size of a pipeline document.
const MaxDocumentBytes = 1 << 20

// Messages of the shape walk that Load compares with Validate's problems.
const (
	msgNull     = "must not be null"
	msgEmpty    = "must not be empty"
	msgRequired = "is required"
)

// Parse reads a pipeline document (bare pipeline or envelope) and reports
// every structural problem at once: malformed JSON (with line and column),
// object members given twice, unknown fields, values of the wrong type,
// nulls, empty optional strings and absent required members (with their
// JSON path). It does not apply the semantic rules; Load does both.
//
// A document without such problems marshals back to the same JSON value:
// the types have no Go value for a null, an empty optional string or an
// absent required member, and encoding/json would merge a repeated member.
// (The one exception, an integer written -0, breaks no round trip of a
// document Load accepts: no integer member may be 0.)
func Parse(data []byte) (*Document, []errs.Problem) {
	doc, problems := parse(data)
	return doc, relative(doc, problems)
}

// Load parses and validates a document. The error, when not nil, is an
// *errs.Error of code Validation listing every problem. Each path is
// reported once: a rule problem at or under a path that parsing already
// reported is left out, except that a rule problem at the path of an absent
// required member replaces parsing's plainer "is required".
func Load(data []byte) (*Document, error) {
	doc, problems := parse(data)
	if doc != nil {
		var rules []errs.Problem
		for _, p := range Validate(&doc.Pipeline) {
			if doc.Enveloped {
				p.Path = join("pipeline", p.Path)
			}
			rules = append(rules, p)
		}
		rules = append(rules, validateEnvelope(doc)...)
		problems = relative(doc, merge(problems, rules))
	}
	if len(problems) > 0 {
		return doc, errs.Invalid("invalid pipeline", problems)
	}
	return doc, nil
}

// parse is Parse with the paths relative to the document.
func parse(data []byte) (*Document, []errs.Problem) {
	if len(data) > MaxDocumentBytes {
		return nil, []errs.Problem{{Message: fmt.Sprintf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)}}
	}
	// The syntax check comes first: the decoder reports the offset of a
	// syntax error only when it reads the whole value in one go.
	var value json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&value); err != nil {
		return nil, []errs.Problem{syntaxProblem(data, err)}
	}
	if rest := skipSpace(data, int(dec.InputOffset())); rest < len(data) {
		line, col := lineCol(data, rest)
		return nil, []errs.Problem{{Message: fmt.Sprintf("line %d, column %d: unexpected data after the JSON document", line, col)}}
	}
	raw, problems, err := decodeTree(value)
	if err != nil {
		return nil, []errs.Problem{{Message: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, []errs.Problem{{Message: "the document must be a JSON object (a pipeline, or {\"pipeline\": {...}})"}}
	}
	doc := &Document{}
	var target any = &doc.Pipeline
	t := reflect.TypeOf(Pipeline{})
	if _, env := obj["pipeline"]; env {
		doc.Enveloped = true
		target, t = doc, reflect.TypeOf(Document{})
	}
	problems = merge(problems, checkShape(obj, t, "", nil))
	if err := json.Unmarshal(data, target); err != nil && !isTypeError(err) {
		problems = append(problems, errs.Problem{Message: err.Error()})
	}
	return doc, problems
}

// relative makes the paths of an envelope's pipeline relative to the
// pipeline, as in the rest of Stageflow; the envelope's own members
// (pipeline itself, metadata, tags) keep their paths.
func relative(doc *Document, problems []errs.Problem) []errs.Problem {
	if doc == nil || !doc.Enveloped {
		return problems
	}
	for i := range problems {
		problems[i].Path = strings.TrimPrefix(problems[i].Path, "pipeline.")
	}
	return problems
}

// merge adds the problems of a later check to those of an earlier one so
// that each path is reported once (the checks are, in order: repeated
// members, the shape walk, the rules). A later problem is left out when its
// path is, or is under, the path of an earlier problem; under an absent
// required member only the member itself counts, and a later problem at
// that very path is kept instead of the earlier one (Validate's may say
// more, e.g. which values are allowed).
func merge(earlier, later []errs.Problem) []errs.Problem {
	reported := map[string]bool{} // hide later problems at and under their path
	absent := map[string]bool{}   // absent members: hide later problems strictly under their path
	for _, p := range earlier {
		switch {
		case p.Path == "":
		case p.Message == msgRequired:
			absent[p.Path] = true
		default:
			reported[p.Path] = true
		}
	}
	atLater := map[string]bool{}
	var kept []errs.Problem
	for _, p := range later {
		if p.Path != "" && hidden(p.Path, reported, absent) {
			continue
		}
		atLater[p.Path] = true
		kept = append(kept, p)
	}
	out := make([]errs.Problem, 0, len(earlier)+len(kept))
	for _, p := range earlier {
		if p.Message == msgRequired && atLater[p.Path] {
			continue
		}
		out = append(out, p)
	}
	return append(out, kept...)
}

// hidden reports whether path is, or is under, a path of reported, or is
// strictly under a path of absent. A path is under another when it
// continues it with "." or "[". (A configuration key containing "." can
// make a path look as if it were under its sibling's; the cost is one
// problem left out next to one reported.)
func hidden(path string, reported, absent map[string]bool) bool {
	if reported[path] {
		return true
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c == '.' || c == '[' {
			if reported[path[:i]] || absent[path[:i]] {
				return true
			}
		}
	}
	return false
}

// MarshalJSON writes the document in the form it was read in.
func (d Document) MarshalJSON() ([]byte, error) {
	if !d.Enveloped {
		return json.Marshal(d.Pipeline)
	}
	type envelope Document
	return json.Marshal(envelope(d))
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func syntaxProblem(data []byte, err error) errs.Problem {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The offset counts the bytes read, the offending one included.
		line, col := lineCol(data, int(se.Offset)-1)
		return errs.Problem{Message: fmt.Sprintf("line %d, column %d: malformed JSON: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		line, col := lineCol(data, len(data))
		return errs.Problem{Message: fmt.Sprintf("line %d, column %d: malformed JSON: the document ends too early", line, col)}
	}
	return errs.Problem{Message: "malformed JSON: " + err.Error()}
}

// lineCol turns a byte offset into a 1-based line and column; the column
// counts characters (runes; a byte that is not UTF-8 counts as one).
func lineCol(data []byte, offset int) (line, col int) {
	offset = max(0, min(offset, len(data)))
	before := data[:offset]
	start := bytes.LastIndexByte(before, '\n') + 1
	return 1 + bytes.Count(before, []byte("\n")), 1 + utf8.RuneCount(before[start:])
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// decodeTree decodes a syntactically valid JSON value into the generic form
// (objects as map[string]any, arrays as []any, numbers as json.Number) with
// one walk over its tokens, reporting every object member whose name the
// object already has; the value decoded keeps the last one. encoding/json
// would silently merge or overwrite such members.
func decodeTree(data []byte) (any, []errs.Problem, error) {
	r := treeReader{dec: json.NewDecoder(bytes.NewReader(data))}
	r.dec.UseNumber()
	v, err := r.value("")
	return v, r.problems, err
}

type treeReader struct {
	dec      *json.Decoder
	problems []errs.Problem
}

func (r *treeReader) value(path string) (any, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		var repeated map[string]bool
		for r.dec.More() {
			tok, err := r.dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := tok.(string)
			if !ok {
				return nil, fmt.Errorf("object key %v is not a string", tok)
			}
			member := join(path, key)
			if _, dup := obj[key]; dup && !repeated[key] {
				if repeated == nil {
					repeated = map[string]bool{}
				}
				repeated[key] = true
				r.problems = append(r.problems, errs.Problem{Path: member, Message: fmt.Sprintf("key %q appears more than once in the object", key)})
			}
			if obj[key], err = r.value(member); err != nil {
				return nil, err
			}
		}
		_, err := r.dec.Token() // }
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for i := 0; r.dec.More(); i++ {
			v, err := r.value(path + "[" + strconv.Itoa(i) + "]")
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := r.dec.Token() // ]
		return arr, err
	}
	return tok, nil // string, json.Number, bool or nil
}

// checkShape walks a decoded JSON value against a Go type of this package,
// reporting unknown fields, values of the wrong JSON type, nulls, empty
// strings where an optional member is given, and absent required members,
// with their path. Field names and whether a field is optional (omitempty,
// omitzero) come from the json tags, so the types are the one schema.
//
// The types have no Go value for a null, nor for an empty optional string
// (omitempty drops it when marshalling), nor for an absent required member
// (it is always marshalled); CodePipeline rejects all three: nulls are not
// allowed, and the shape of every optional string member of the API
// definition excludes "" (a minimum length of 1 or more, an enumeration or
// an ARN pattern).
func checkShape(v any, t reflect.Type, path string, problems []errs.Problem) []errs.Problem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return append(problems, errs.Problem{Path: path, Message: msgNull})
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return append(problems, typeProblem(path, "an object", v))
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, ok := fields.byName[k]
			switch {
			case !ok:
				problems = append(problems, errs.Problem{Path: join(path, k), Message: fmt.Sprintf("unknown field %q", k) + suggest(k, fields)})
			case f.optional && f.typ.Kind() == reflect.String && obj[k] == "":
				problems = append(problems, errs.Problem{Path: join(path, k), Message: msgEmpty})
			default:
				problems = checkShape(obj[k], f.typ, join(path, k), problems)
			}
		}
		for _, name := range fields.required {
			if _, ok := obj[name]; !ok {
				problems = append(problems, errs.Problem{Path: join(path, name), Message: msgRequired})
			}
		}
	case reflect.Slice:
		if t == rawMessageType {
			return problems
		}
		arr, ok := v.([]any)
		if !ok {
			return append(problems, typeProblem(path, "an array", v))
		}
		for i, e := range arr {
			problems = checkShape(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", problems)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return append(problems, typeProblem(path, "an object", v))
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			problems = checkShape(obj[k], t.Elem(), path+"."+k, problems)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return append(problems, typeProblem(path, "a string", v))
		}
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return append(problems, typeProblem(path, "an integer", v))
		}
		if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			return append(problems, errs.Problem{Path: path, Message: fmt.Sprintf("must be a whole number, got %s", n)})
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return append(problems, typeProblem(path, "true or false", v))
		}
	}
	return problems
}

var rawMessageType = reflect.TypeOf(json.RawMessage{})

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func typeProblem(path, want string, got any) errs.Problem {
	return errs.Problem{Path: path, Message: fmt.Sprintf("must be %s, got %s", want, jsonKind(got))}
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", truncate(x, 40))
	case json.Number:
		return "the number " + string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// field is a struct field as JSON sees it.
type field struct {
	typ      reflect.Type
	optional bool // omitempty or omitzero: left out when zero
}

// structFields are the JSON members of a struct type.
type structFields struct {
	byName   map[string]field
	required []string // members that are always marshalled, in field order
}

var fieldCache sync.Map // reflect.Type → *structFields

// jsonFields returns a struct's JSON members.
func jsonFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	fs := &structFields{byName: make(map[string]field, t.NumField())}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := false
		for _, o := range strings.Split(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		fs.byName[name] = field{typ: f.Type, optional: optional}
		if !optional {
			fs.required = append(fs.required, name)
		}
	}
	f, _ := fieldCache.LoadOrStore(t, fs)
	return f.(*structFields)
}

// suggest offers the known field whose name differs from k only in case.
func suggest(k string, fields *structFields) string {
	for name := range fields.byName {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}
