// Package strictjson is Stageflow's one strict JSON decoder: the pipeline
// loader and the HTTP doors read documents with it, so that every problem
// has the same words, the same JSON path and the same class everywhere.
//
// Decode reports, all at once: malformed JSON with its line and column (the
// column counts characters), data after the value, object members given
// twice (at any depth), unknown members with a "did you mean" (another case,
// or a near spelling), values of the wrong JSON type, nulls, absent required
// members and, for fields whose `api` tag names a shape of shared/apispec,
// broken constraints (lengths counted in characters). Each problem has a
// Class, so a door can map type problems to its serialization error and the
// others to its validation error.
//
// The `api` struct tag refers to the constraint table by shape name instead
// of repeating its numbers:
//
//	Name      string            `json:"name" api:"required,shape=PipelineName"`
//	Tags      []Tag             `json:"tags" api:"required,shape=TagList"`
//	TagKeys   []string          `json:"tagKeys" api:"shape=TagKeyList"`          // elements: the list's member shape
//	Variables map[string]string `json:"outputVariables" api:"shape=OutputVariablesMap"` // keys and values too
//	Pipeline  json.RawMessage   `json:"pipeline" api:"required,object"`          // any JSON object
//	Vars      map[string]string `json:"variables" api:"shape=PipelineVariableList,key=PipelineVariableName,value=PipelineVariableValue"`
//
// required: the member must be present (and, unless NullAsAbsent, not null);
// shape=Name: the value must satisfy apispec.MustLookup(Name) (for a list or
// map, its number of entries); key=Name and value=Name (maps only): every key
// and every value must satisfy that shape, when the map's own shape names
// none (a door's map standing for a list of name/value structures); object:
// a json.RawMessage must hold an object. An unknown shape name panics on first
// use of the type.
//
// See shared/apispec's package comment for a door's whole use.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options change what Decode accepts.
type Options struct {
	// Roundtrip makes the Go types the schema of a document that must
	// marshal back to the same JSON value: a member whose json tag has no
	// omitempty or omitzero is required, and an optional string member may
	// not be "" (marshalling would drop it). The pipeline loader uses it.
	Roundtrip bool
	// NullAsAbsent treats a null object member as absent, as AWS's JSON
	// protocol does; a null list element or map value is still a problem.
	NullAsAbsent bool
}

// Tree is a syntactically valid JSON document, decoded once.
type Tree struct {
	data       []byte
	root       any
	duplicates map[string]bool // paths of members given twice
}

// Parse checks a document's syntax and reads it into the generic form
// (objects as map[string]any, arrays as []any, numbers as json.Number). On
// malformed JSON it returns a nil Tree and one Syntax problem; otherwise the
// problems are the members given twice (the tree keeps the last one, as
// encoding/json does).
func Parse(data []byte) (*Tree, Problems) {
	// The syntax check comes first: the decoder reports the offset of a
	// syntax error only when it reads the whole value in one go.
	var value json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&value); err != nil {
		return nil, Problems{syntaxProblem(data, err)}
	}
	if rest := skipSpace(data, int(dec.InputOffset())); rest < len(data) {
		return nil, Problems{atOffset(data, rest, "unexpected data after the JSON document")}
	}
	r := treeReader{dec: json.NewDecoder(bytes.NewReader(value)), tree: &Tree{data: data, duplicates: map[string]bool{}}}
	r.dec.UseNumber()
	root, err := r.value("")
	if err != nil {
		return nil, Problems{problem(Syntax, "", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))}
	}
	r.tree.root = root
	return r.tree, r.problems
}

// Root is the decoded value: map[string]any, []any, string, json.Number,
// bool or nil.
func (t *Tree) Root() any { return t.root }

// Decode checks the tree against dst's type (a non-nil pointer) and
// unmarshals it into dst. dst holds what could be decoded even when there
// are problems; trust it only when there are none. A problem at or under the
// path of a member given twice is left out (Parse reported that member).
func (t *Tree) Decode(dst any, opts Options) Problems {
	w := walker{opts: opts}
	w.value(t.root, typeOf(dst), "", constraint{})
	var out Problems
	for _, p := range w.problems {
		if p.Path == "" || !Under(p.Path, t.duplicates) {
			out = append(out, p)
		}
	}
	if err := json.Unmarshal(t.data, dst); err != nil && !isTypeError(err) {
		out = append(out, problem(Syntax, "", strings.TrimPrefix(err.Error(), "json: ")))
	}
	return out
}

// Decode parses data and decodes it into dst (a non-nil pointer), returning
// every problem; nil when there are none. See Tree.Decode.
func Decode(data []byte, dst any, opts Options) Problems {
	t, problems := Parse(data)
	if t == nil {
		return problems
	}
	return append(problems, t.Decode(dst, opts)...)
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func syntaxProblem(data []byte, err error) Problem {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The offset counts the bytes read, the offending one included.
		return atOffset(data, int(se.Offset)-1, "malformed JSON: "+strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return atOffset(data, len(data), "malformed JSON: the document ends too early")
	}
	return problem(Syntax, "", "malformed JSON: "+err.Error())
}

// atOffset is a Syntax problem at a byte offset of data.
func atOffset(data []byte, offset int, msg string) Problem {
	line, col := LineColumn(data, offset)
	p := problem(Syntax, "", fmt.Sprintf("line %d, column %d: %s", line, col, msg))
	p.Line, p.Column = line, col
	return p
}

// LineColumn turns a byte offset into a 1-based line and column; the column
// counts characters (runes; a byte that is not UTF-8 counts as one).
func LineColumn(data []byte, offset int) (line, col int) {
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

// treeReader decodes a syntactically valid JSON value with one walk over its
// tokens, reporting every object member whose name the object already has.
type treeReader struct {
	dec      *json.Decoder
	tree     *Tree
	problems Problems
}

func (r *treeReader) value(path string) (any, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for r.dec.More() {
			tok, err := r.dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := tok.(string)
			if !ok {
				return nil, fmt.Errorf("object key %v is not a string", tok)
			}
			member := Join(path, key)
			if _, dup := obj[key]; dup && !r.tree.duplicates[member] {
				r.tree.duplicates[member] = true
				r.problems = append(r.problems, problem(Duplicate, member, fmt.Sprintf("key %q appears more than once in the object", key)))
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
