package cpdoor

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// ---- strict decoding ----

// The input shapes name their constraints in shared/strictjson's `api` tags,
// by the shape names of shared/apispec (the one table of the API
// definition's constraints):
//
//	required        the member must be present (a null counts as absent)
//	shape=Name      the value must satisfy apispec's shape Name
//	object          (json.RawMessage) the value must be a JSON object

// cpDecodeOptions: AWS's JSON protocol treats a null member as absent.
var cpDecodeOptions = strictjson.Options{NullAsAbsent: true}

// cpDecode reads a request body into the input shape T strictly. Malformed
// JSON and values of the wrong JSON type are a SerializationException, as
// AWS answers them in this protocol; every other problem (unknown or
// repeated members, nulls in lists and maps, absent required members,
// broken constraints) makes one ValidationException listing them all with
// their paths. An empty body is {}.
func cpDecode[T any](body []byte) (*T, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // an operation without input may come with no body
	}
	in := new(T)
	problems := strictjson.Decode(body, in, cpDecodeOptions)
	if bad := problems.Of(strictjson.Syntax, strictjson.Type); len(bad) > 0 {
		return nil, cpSerializationError("%s", bad.Error())
	}
	if len(problems) > 0 {
		return nil, cpValidationErrors(problems.Errs())
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

// InputType returns the Go type the door decodes an operation's input
// into (its `api` tags carry the API definition's constraints), or nil for
// an operation it does not implement. Tests compare the types with the API
// definition.
func InputType(operation string) reflect.Type {
	op, ok := cpOperations[operation]
	if !ok {
		return nil
	}
	return op.input
}
