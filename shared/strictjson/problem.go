package strictjson

import (
	"slices"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// Class says what kind of problem a Problem is, so that a caller can map it
// to its own error (the JSON 1.1 door: Syntax and Type to
// SerializationException, the others to ValidationException).
type Class string

// The classes.
const (
	Syntax     Class = "syntax"     // malformed JSON or data after the value; Line and Column are set
	Type       Class = "type"       // a value of the wrong JSON type, or a number that is not a whole number in range
	Unknown    Class = "unknown"    // an object member the type has no field for
	Null       Class = "null"       // a null where a value is expected
	Duplicate  Class = "duplicate"  // an object member given more than once
	Constraint Class = "constraint" // a value that breaks its shape's constraints, or an empty optional string (Roundtrip)
	Required   Class = "required"   // a required member that is absent
)

// The messages of the problems that carry no detail.
const (
	MsgNull     = "must not be null"
	MsgRequired = "is required"
	MsgEmpty    = "must not be empty"
)

// Problem is one finding: a JSON path ("stages[1].actions[0].runOrder"; ""
// for the whole document), a plain sentence, and its class.
type Problem struct {
	errs.Problem
	Class        Class
	Line, Column int // where a Syntax problem is (1-based; the column counts characters)
}

// Problems are the findings of a decode, in document order per object
// (members by name, then absent required members in field order).
type Problems []Problem

// Error joins the problems with "; ".
func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Has reports whether any problem is of one of the classes.
func (ps Problems) Has(classes ...Class) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return slices.Contains(classes, p.Class) })
}

// Of returns the problems of the classes.
func (ps Problems) Of(classes ...Class) Problems {
	var out Problems
	for _, p := range ps {
		if slices.Contains(classes, p.Class) {
			out = append(out, p)
		}
	}
	return out
}

// Errs returns the problems as errs.Problem (path and message).
func (ps Problems) Errs() []errs.Problem {
	if len(ps) == 0 {
		return nil
	}
	out := make([]errs.Problem, len(ps))
	for i, p := range ps {
		out[i] = p.Problem
	}
	return out
}

func problem(class Class, path, msg string) Problem {
	return Problem{Problem: errs.Problem{Path: path, Message: msg}, Class: class}
}

// Join appends a member name to a path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Under reports whether path is, or is under, one of the paths: equal, or
// continuing it with "." or "[". (A map key containing "." can make a path
// look as if it were under its sibling's.)
func Under(path string, paths map[string]bool) bool {
	if paths[path] {
		return true
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; (c == '.' || c == '[') && paths[path[:i]] {
			return true
		}
	}
	return false
}
