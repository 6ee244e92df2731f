package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// MaxDocumentBytes bounds the size of a pipeline document.
const MaxDocumentBytes = 1 << 20

// Parse reads a pipeline document (bare pipeline or envelope) and reports
// every structural problem at once: malformed JSON (with line and column),
// unknown fields and wrong types (with their JSON path). It does not apply
// the semantic rules; Load does both.
func Parse(data []byte) (*Document, []errs.Problem) {
	if len(data) > MaxDocumentBytes {
		return nil, []errs.Problem{{Message: fmt.Sprintf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)}}
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, []errs.Problem{syntaxProblem(data, err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(data, int(dec.InputOffset()))
		return nil, []errs.Problem{{Message: fmt.Sprintf("line %d, column %d: unexpected data after the JSON document", line, col)}}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, []errs.Problem{{Message: "the document must be a JSON object (a pipeline, or {\"pipeline\": {...}})"}}
	}
	doc := &Document{}
	var problems []errs.Problem
	if _, env := obj["pipeline"]; env {
		doc.Enveloped = true
		problems = checkShape(obj, reflect.TypeOf(Document{}), "", problems)
		// Paths inside the envelope are reported relative to the pipeline,
		// as in the rest of Stageflow, with the envelope's own fields as is.
		for i := range problems {
			problems[i].Path = strings.TrimPrefix(strings.TrimPrefix(problems[i].Path, "pipeline."), "pipeline")
		}
		if err := json.Unmarshal(data, doc); err != nil && !isTypeError(err) {
			problems = append(problems, errs.Problem{Message: err.Error()})
		}
	} else {
		problems = checkShape(obj, reflect.TypeOf(Pipeline{}), "", problems)
		if err := json.Unmarshal(data, &doc.Pipeline); err != nil && !isTypeError(err) {
			problems = append(problems, errs.Problem{Message: err.Error()})
		}
	}
	return doc, problems
}

// Load parses and validates a document. The error, when not nil, is an
// *errs.Error of code Validation listing every problem.
func Load(data []byte) (*Document, error) {
	doc, problems := Parse(data)
	if doc != nil {
		problems = append(problems, Validate(&doc.Pipeline)...)
		problems = append(problems, validateEnvelope(doc)...)
	}
	if len(problems) > 0 {
		return doc, errs.Invalid("invalid pipeline", problems)
	}
	return doc, nil
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
		line, col := lineCol(data, int(se.Offset))
		return errs.Problem{Message: fmt.Sprintf("line %d, column %d: malformed JSON: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		line, col := lineCol(data, len(data))
		return errs.Problem{Message: fmt.Sprintf("line %d, column %d: malformed JSON: the document ends too early", line, col)}
	}
	return errs.Problem{Message: "malformed JSON: " + err.Error()}
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, offset int) (int, int) {
	if offset > len(data) {
		offset = len(data)
	}
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	col := offset - bytes.LastIndexByte(data[:offset], '\n')
	return line, col
}

// checkShape walks a decoded JSON value against a Go type of this package,
// reporting unknown fields and values of the wrong JSON type with their path.
// Field names come from the json tags, so the types are the one schema.
func checkShape(v any, t reflect.Type, path string, problems []errs.Problem) []errs.Problem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		// null: encoding/json leaves the zero value; required-field rules
		// report what is then missing.
		return problems
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(json.RawMessage{}) {
			return problems
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return append(problems, typeProblem(path, "an object", v))
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				problems = append(problems, errs.Problem{Path: join(path, k), Message: fmt.Sprintf("unknown field %q", k) + suggest(k, fields)})
				continue
			}
			problems = checkShape(obj[k], f, join(path, k), problems)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage
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
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
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

// jsonFields maps a struct's JSON names to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// suggest offers the known field whose name differs from k only in case.
func suggest(k string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}
