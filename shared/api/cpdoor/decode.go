package cpdoor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/errs"
)

// ---- strict decoding ----

// Constraints come from the API definition and are written in `cp` tags:
//
//	required        the member must be present and not null
//	min=N, max=N    length of a string (characters), list or map; value of an integer
//	enum=A|B        the string must be one of the values
//	pattern=K       the string must match cpPatterns[K] (whole string)
//	keypattern=K    every key of a map must match cpPatterns[K]
//	object          (json.RawMessage) the value must be a JSON object
var cpPatterns = map[string]*regexp.Regexp{
	"name":     regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`),                             // PipelineName, StageName, ActionName
	"provider": regexp.MustCompile(`^[0-9A-Za-z_-]+$`),                                // ActionProvider, Version
	"token":    regexp.MustCompile(`^[a-zA-Z0-9-]+$`),                                 // ClientRequestToken
	"variable": regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`),                              // PipelineVariableName, OutputVariablesKey
	"arn":      regexp.MustCompile(`^arn:aws(-[\w]+)*:codepipeline:.+:[0-9]{12}:.+$`), // ResourceArn
}

// cpDecode reads a request body into the input shape T strictly; the
// comment at the top of this file lists the errors it gives.
func cpDecode[T any](body []byte) (*T, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // an operation without input may come with no body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, cpSerializationError("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, cpSerializationError("malformed JSON: unexpected data after the JSON object")
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, cpSerializationError("the request body must be a JSON object, got %s", cpJSONKind(tree))
	}
	in := new(T)
	var w cpShapeWalk
	w.object(obj, reflect.TypeOf(in).Elem(), "")
	if len(w.typeErrors) > 0 {
		return nil, cpSerializationError("%s", cpJoinProblems(w.typeErrors))
	}
	if len(w.invalid) > 0 {
		return nil, cpValidationErrors(w.invalid)
	}
	if err := json.Unmarshal(body, in); err != nil {
		return nil, cpSerializationError("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return in, nil
}

// cpValidationErrors makes a ValidationException listing problems, in AWS's
// words ("2 validation errors detected: ...").
func cpValidationErrors(problems []errs.Problem) error {
	n := "1 validation error"
	if len(problems) > 1 {
		n = strconv.Itoa(len(problems)) + " validation errors"
	}
	return errs.Invalid(n+" detected", problems)
}

// cpInvalidMember is one ValidationException problem.
func cpInvalidMember(path, format string, args ...any) error {
	return cpValidationErrors([]errs.Problem{{Path: path, Message: fmt.Sprintf(format, args...)}})
}

func cpJoinProblems(ps []errs.Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// cpShapeWalk checks a decoded JSON value against an input type.
type cpShapeWalk struct {
	typeErrors []errs.Problem // wrong JSON types: SerializationException
	invalid    []errs.Problem // unknown members and broken constraints: ValidationException
}

var cpRawJSONType = reflect.TypeOf(json.RawMessage(nil))

func (w *cpShapeWalk) object(obj map[string]any, t reflect.Type, path string) {
	type member struct {
		index int
		tag   string
	}
	members := map[string]member{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		members[name] = member{i, f.Tag.Get("cp")}
		names = append(names, name)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := members[k]; !ok {
			msg := fmt.Sprintf("unknown member %q", k)
			for _, n := range names {
				if strings.EqualFold(n, k) {
					msg += fmt.Sprintf(" (did you mean %q? member names are case-sensitive)", n)
				}
			}
			w.invalid = append(w.invalid, errs.Problem{Path: cpJoinPath(path, k), Message: msg + "; the members here are " + strings.Join(names, ", ")})
		}
	}
	for _, name := range names {
		m := members[name]
		v, present := obj[name]
		c := cpParseConstraints(m.tag)
		p := cpJoinPath(path, name)
		if !present || v == nil {
			if c.required {
				w.invalid = append(w.invalid, errs.Problem{Path: p, Message: "Member must not be null"})
			}
			continue
		}
		w.value(v, t.Field(m.index).Type, p, c)
	}
}

func (w *cpShapeWalk) value(v any, t reflect.Type, path string, c cpConstraints) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(want string) {
		w.typeErrors = append(w.typeErrors, errs.Problem{Path: path, Message: fmt.Sprintf("must be %s, got %s", want, cpJSONKind(v))})
	}
	switch {
	case t == cpRawJSONType:
		if _, ok := v.(map[string]any); !ok && c.object {
			bad("an object")
		}
	case t.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		w.object(obj, t, path)
	case t.Kind() == reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			bad("a list")
			return
		}
		w.check(path, c, len(arr), "", "have length")
		for i, e := range arr {
			ep := path + "[" + strconv.Itoa(i) + "]"
			if e == nil {
				w.invalid = append(w.invalid, errs.Problem{Path: ep, Message: "Member must not be null"})
				continue
			}
			w.value(e, t.Elem(), ep, cpConstraints{})
		}
	case t.Kind() == reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		w.check(path, c, len(obj), "", "have length")
		for _, k := range cpSortedKeys(obj) {
			if re := cpPatterns[c.keyPattern]; re != nil && !re.MatchString(k) {
				w.invalid = append(w.invalid, errs.Problem{Path: path, Message: fmt.Sprintf("key %q must satisfy regular expression pattern: %s", k, cpPatternText(re))})
			}
			if obj[k] == nil {
				w.invalid = append(w.invalid, errs.Problem{Path: path + "." + k, Message: "Member must not be null"})
				continue
			}
			w.value(obj[k], t.Elem(), path+"."+k, cpConstraints{})
		}
	case t.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			bad("a string")
			return
		}
		w.check(path, c, utf8.RuneCountInString(s), s, "have length")
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int32 || t.Kind() == reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			bad("an integer")
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			bad("an integer")
			return
		}
		w.check(path, c, int(i), "", "have value")
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("true or false")
		}
	}
}

// check applies min, max, enum and pattern; s is the string value, if any.
func (w *cpShapeWalk) check(path string, c cpConstraints, n int, s, what string) {
	add := func(format string, args ...any) {
		w.invalid = append(w.invalid, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if c.min != nil && n < *c.min {
		add("Member must %s greater than or equal to %d", what, *c.min)
	}
	if c.max != nil && n > *c.max {
		add("Member must %s less than or equal to %d", what, *c.max)
	}
	if len(c.enum) > 0 && !cpContains(c.enum, s) {
		add("Value %q must satisfy enum value set: [%s]", cpTruncate(s, 60), strings.Join(c.enum, ", "))
	}
	if re := cpPatterns[c.pattern]; re != nil && !re.MatchString(s) {
		add("Value %q must satisfy regular expression pattern: %s", cpTruncate(s, 60), cpPatternText(re))
	}
}

type cpConstraints struct {
	required, object    bool
	min, max            *int
	enum                []string
	pattern, keyPattern string
}

func cpParseConstraints(tag string) cpConstraints {
	var c cpConstraints
	for _, part := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "required":
			c.required = true
		case "object":
			c.object = true
		case "min", "max":
			n, err := strconv.Atoi(v)
			if err != nil {
				panic("api: bad cp tag " + tag)
			}
			if k == "min" {
				c.min = &n
			} else {
				c.max = &n
			}
		case "enum":
			c.enum = strings.Split(v, "|")
		case "pattern":
			c.pattern = v
		case "keypattern":
			c.keyPattern = v
		}
	}
	return c
}

func cpPatternText(re *regexp.Regexp) string {
	return strings.TrimSuffix(strings.TrimPrefix(re.String(), "^"), "$")
}

func cpJoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func cpJSONKind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", cpTruncate(x, 40))
	case json.Number:
		return "the number " + string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}

func cpTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func cpContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cpSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
