package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stageflow/stageflow/shared/apispec"
)

// Variable references have the form #{namespace.name}. Three kinds of
// namespace exist:
//
//   - "codepipeline": variables every execution has; its only key is
//     PipelineExecutionId.
//   - "variables": the pipeline-level variables (V2).
//   - any other name: the namespace an action declares; the name is one of
//     the variables that action outputs.
const (
	// NamespaceCodePipeline is the reserved namespace of execution-wide variables.
	NamespaceCodePipeline = "codepipeline"
	// NamespaceVariables is the reserved namespace of pipeline-level variables.
	NamespaceVariables = "variables"
	// VarPipelineExecutionID is the only key of the codepipeline namespace.
	VarPipelineExecutionID = "PipelineExecutionId"
)

// Ref is one #{namespace.name} reference found in a string. Start and End are
// byte offsets: s[Start:End] is the whole reference, braces included.
type Ref struct {
	Namespace, Name string
	Start, End      int
}

// String renders the reference as it is written.
func (r Ref) String() string { return "#{" + r.Namespace + "." + r.Name + "}" }

// Refs returns the well-formed references in s, in order. The error, when not
// nil, describes every malformed one: a "#{" with no closing "}", or braces
// that do not hold "namespace.name" with both parts non-empty. The references
// returned are usable even when there is an error.
func Refs(s string) ([]Ref, error) {
	refs, bad := scanRefs(s)
	if len(bad) == 0 {
		return refs, nil
	}
	list := make([]error, len(bad))
	for i, b := range bad {
		list[i] = errors.New(b)
	}
	return refs, errors.Join(list...)
}

// Substitute replaces every reference in s with the value lookup gives for
// it. Values are inserted as they are: a "#{" inside a value is not expanded
// again. The error names every reference lookup could not resolve, or the
// malformed ones; on error the returned string is empty.
func Substitute(s string, lookup func(ns, name string) (string, bool)) (string, error) {
	refs, err := Refs(s)
	if err != nil {
		return "", err
	}
	if len(refs) == 0 {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	last := 0
	for _, r := range refs {
		b.WriteString(s[last:r.Start])
		last = r.End
		val, ok := lookup(r.Namespace, r.Name)
		if !ok {
			missing = append(missing, r.String())
			continue
		}
		b.WriteString(val)
	}
	if len(missing) > 0 {
		noun := "reference"
		if len(missing) > 1 {
			noun = "references"
		}
		return "", fmt.Errorf("unresolved variable %s %s", noun, strings.Join(missing, ", "))
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// scanRefs finds the references in s and describes the malformed ones.
func scanRefs(s string) (refs []Ref, bad []string) {
	i := 0
	for {
		open := strings.Index(s[i:], "#{")
		if open < 0 {
			return refs, bad
		}
		start := i + open
		body := start + 2
		closing := strings.IndexByte(s[body:], '}')
		if closing < 0 {
			bad = append(bad, fmt.Sprintf("%q is not closed with \"}\"", apispec.Truncate(s[start:], 40)))
			return refs, bad
		}
		end := body + closing + 1
		inner := s[body : end-1]
		ns, name, ok := strings.Cut(inner, ".")
		if !ok || ns == "" || name == "" {
			bad = append(bad, fmt.Sprintf("%q is not a variable reference of the form #{namespace.variable}", apispec.Truncate(s[start:end], 60)))
		} else {
			refs = append(refs, Ref{Namespace: ns, Name: name, Start: start, End: end})
		}
		i = end
	}
}

// commandChecks are called by Validate on every command that holds a
// variable reference (see RegisterCommandCheck).
var (
	commandChecksMu sync.RWMutex
	commandChecks   []func(command string) error
)

// RegisterCommandCheck adds a check that Validate applies to every command
// (of a Commands action or rule) holding a variable reference; an error is
// reported at the command's path. The model knows nothing of shells: the
// package that turns references into shell data (shared/actions/shellref)
// registers the check that refuses references standing where no data can
// (a heredoc body, a comment, …), so that such a pipeline is refused when it
// is loaded rather than when it runs.
func RegisterCommandCheck(check func(command string) error) {
	commandChecksMu.Lock()
	defer commandChecksMu.Unlock()
	commandChecks = append(commandChecks, check)
}

// checkCommand applies the registered command checks to a command with
// references.
func checkCommand(command string) []error {
	commandChecksMu.RLock()
	defer commandChecksMu.RUnlock()
	var out []error
	for _, check := range commandChecks {
		if err := check(command); err != nil {
			out = append(out, err)
		}
	}
	return out
}
