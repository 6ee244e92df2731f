package strictjson

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stageflow/stageflow/shared/apispec"
)

// walker checks a decoded JSON value against a Go type.
type walker struct {
	opts     Options
	problems Problems
}

func (w *walker) add(class Class, path, format string, args ...any) {
	w.problems = append(w.problems, problem(class, path, fmt.Sprintf(format, args...)))
}

// constraint is what a field's `api` tag asks of its value.
type constraint struct {
	shape  *apispec.Shape
	object bool // a json.RawMessage must hold an object
	// key and value name the shapes of a map's keys and values when the
	// map's own shape does not (key=Name, value=Name).
	key, value *apispec.Shape
}

var rawMessageType = reflect.TypeOf(json.RawMessage{})

func typeOf(dst any) reflect.Type {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || reflect.ValueOf(dst).IsNil() {
		panic(fmt.Sprintf("strictjson: Decode needs a non-nil pointer, got %T", dst))
	}
	return t
}

func (w *walker) value(v any, t reflect.Type, path string, c constraint) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		w.add(Null, path, MsgNull)
		return
	}
	switch {
	case t == rawMessageType:
		if _, ok := v.(map[string]any); c.object && !ok {
			w.typeProblem(path, "an object", v)
		}
	case t.Kind() == reflect.Interface:
	case t.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			w.typeProblem(path, "an object", v)
			return
		}
		w.object(obj, t, path)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			w.typeProblem(path, "an array", v)
			return
		}
		w.check(path, c.shape, len(arr))
		elem := element(c.shape, func(s *apispec.Shape) string { return s.Member })
		for i, e := range arr {
			w.value(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", elem)
		}
	case t.Kind() == reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			w.typeProblem(path, "an object", v)
			return
		}
		w.check(path, c.shape, len(obj))
		key := element(c.shape, func(s *apispec.Shape) string { return s.Key }).shape
		elem := element(c.shape, func(s *apispec.Shape) string { return s.Value })
		if c.key != nil {
			key = c.key
		}
		if c.value != nil {
			elem = constraint{shape: c.value}
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if key != nil {
				if msg := key.CheckKey(k); msg != "" {
					w.add(Constraint, path, "%s", msg)
				}
			}
			w.value(obj[k], t.Elem(), path+"."+k, elem)
		}
	case t.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			w.typeProblem(path, "a string", v)
			return
		}
		w.check(path, c.shape, s)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			w.typeProblem(path, "an integer", v)
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			w.add(Type, path, "must be a whole number, got %s", n)
			return
		}
		w.check(path, c.shape, i)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			w.typeProblem(path, "a number", v)
		}
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.typeProblem(path, "true or false", v)
		}
	}
}

// check applies a shape, if any, to a string, an integer or a count.
func (w *walker) check(path string, shape *apispec.Shape, v any) {
	if shape == nil {
		return
	}
	var msg string
	switch x := v.(type) {
	case string:
		msg = shape.CheckString(x)
	case int64:
		msg = shape.CheckInt(x)
	case int:
		msg = shape.CheckCount(x)
	}
	if msg != "" {
		w.add(Constraint, path, "%s", msg)
	}
}

// element is the constraint on the elements, keys or values of a list or
// map shape.
func element(s *apispec.Shape, ref func(*apispec.Shape) string) constraint {
	if s == nil || ref(s) == "" {
		return constraint{}
	}
	return constraint{shape: apispec.MustLookup(ref(s))}
}

func (w *walker) object(obj map[string]any, t reflect.Type, path string) {
	fs := fieldsOf(t)
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		member := Join(path, k)
		f, ok := fs.byName[k]
		v := obj[k]
		switch {
		case !ok:
			w.add(Unknown, member, "unknown field %q%s", k, suggest(k, fs.names))
		case v == nil && w.opts.NullAsAbsent:
			if f.required || w.opts.Roundtrip && !f.omit {
				w.add(Required, member, MsgRequired)
			}
		case w.opts.Roundtrip && f.omit && v == "" && f.typ.Kind() == reflect.String:
			w.add(Constraint, member, MsgEmpty)
		default:
			w.value(v, f.typ, member, f.constraint)
		}
	}
	for _, name := range fs.names {
		f := fs.byName[name]
		if _, ok := obj[name]; !ok && (f.required || w.opts.Roundtrip && !f.omit) {
			w.add(Required, Join(path, name), MsgRequired)
		}
	}
}

func (w *walker) typeProblem(path, want string, got any) {
	w.add(Type, path, "must be %s, got %s", want, Kind(got))
}

// Kind describes a decoded JSON value for a message: "an object", "an
// array", `the string "x"`, "the number 3", "true", "null".
func Kind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", apispec.Truncate(x, 40))
	case json.Number:
		return "the number " + string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}

// field is a struct field as JSON sees it.
type field struct {
	typ        reflect.Type
	omit       bool // omitempty or omitzero: left out when zero
	required   bool // api:"required"
	constraint constraint
}

// structFields are the JSON members of a struct type.
type structFields struct {
	byName map[string]field
	names  []string // in field order
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf returns a struct's JSON members (those of embedded structs
// without a json name included, as encoding/json does).
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	fs := &structFields{byName: map[string]field{}}
	fs.collect(t)
	f, _ := fieldCache.LoadOrStore(t, fs)
	return f.(*structFields)
}

func (fs *structFields) collect(t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			fs.collect(f.Type)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fd := field{typ: f.Type}
		for _, o := range strings.Split(opts, ",") {
			fd.omit = fd.omit || o == "omitempty" || o == "omitzero"
		}
		fd.required, fd.constraint = parseTag(t, f)
		if _, dup := fs.byName[name]; !dup {
			fs.names = append(fs.names, name)
		}
		fs.byName[name] = fd
	}
}

// parseTag reads a field's `api` tag; a malformed tag or an unknown shape
// panics (a programming error).
func parseTag(t reflect.Type, f reflect.StructField) (required bool, c constraint) {
	tag, ok := f.Tag.Lookup("api")
	if !ok {
		return false, c
	}
	for _, part := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "required":
			required = true
		case "object":
			c.object = true
		case "shape", "key", "value":
			s := apispec.Lookup(v)
			if s == nil {
				panic(fmt.Sprintf("strictjson: %s.%s: api tag names shape %q, which shared/apispec does not have", t, f.Name, v))
			}
			if (k == "key" || k == "value") && f.Type.Kind() != reflect.Map {
				panic(fmt.Sprintf("strictjson: %s.%s: api tag option %s= applies to maps only", t, f.Name, k))
			}
			switch k {
			case "shape":
				c.shape = s
			case "key":
				c.key = s
			default:
				c.value = s
			}
		default:
			panic(fmt.Sprintf("strictjson: %s.%s: unknown api tag option %q", t, f.Name, part))
		}
	}
	return required, c
}

// Member is a struct field as Decode sees it.
type Member struct {
	Name      string
	Type      reflect.Type
	OmitEmpty bool   // the json tag has omitempty or omitzero
	Required  bool   // the api tag has required
	Shape     string // the shape the api tag names, or ""
}

// Members lists the JSON members of a struct type in field order (for tests
// that compare a type with the API definition).
func Members(t reflect.Type) []Member {
	fs := fieldsOf(t)
	out := make([]Member, len(fs.names))
	for i, name := range fs.names {
		f := fs.byName[name]
		out[i] = Member{Name: name, Type: f.typ, OmitEmpty: f.omit, Required: f.required}
		if f.constraint.shape != nil {
			out[i].Shape = f.constraint.shape.Name
		}
	}
	return out
}
