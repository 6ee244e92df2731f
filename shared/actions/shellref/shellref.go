// Package shellref puts the values of #{namespace.variable} references into
// shell commands as data, never as shell text.
//
// AWS CodePipeline substitutes a reference's value into the command text
// before the shell reads it, so a value such as "$(rm -rf ~)" or "; curl … |
// sh" runs as a command. Stageflow instead gives every referenced value to
// the build as an environment variable with a generated name
// (STAGEFLOW_REF_1, …) and replaces each reference by an expansion of that
// variable that is a single, quoted piece of data in the reference's
// position. A shell parser (mvdan.cc/sh/v3/syntax) says where each reference
// stands:
//
//   - in an unquoted word, or in the middle of one (pre#{v.x}post):
//     "${STAGEFLOW_REF_1}" — pre"${STAGEFLOW_REF_1}"post;
//   - inside double quotes: ${STAGEFLOW_REF_1};
//   - inside single quotes: the quote is closed, the quoted expansion
//     inserted and the quote reopened: 'a'"${STAGEFLOW_REF_1}"'b'.
//
// Where a reference has no data position — a heredoc body or delimiter, a
// comment, a variable or function name, arithmetic, a backquoted command
// substitution, after a backslash — Rewrite refuses the command and Check
// (which pipeline validation calls, see init) reports it.
//
// Why here and not in the engine: the engine resolves references for every
// action type and knows nothing of shells (nor should it: a configuration
// value of a deploy action is not shell text). It records the value of each
// reference on the action run (engine.ActionRun.References) and keeps the
// commands as written; the providers that hand commands to a shell
// (Commands, CodeBuild) rewrite them here, where the shell dialect is known.
//
// What a command does with the value afterwards (eval "$X", bash -c "$X") is
// the command's own business.
package shellref

import (
	"fmt"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// EnvPrefix starts the name of every environment variable that carries a
// referenced value.
const EnvPrefix = "STAGEFLOW_REF_"

func init() {
	pipeline.RegisterCommandCheck(func(command string) error { return Check(command, "") })
}

// Masked is a text whose references were replaced by placeholder tokens:
// letters and digits only, so that neither a shell nor a YAML parser gives
// them a meaning of their own, and unique in the text.
type Masked struct {
	Text string
	// Refs are the references in order; the i-th one's token is Token(i).
	Refs   []pipeline.Ref
	prefix string
}

// Mask replaces the well-formed references of s by tokens.
func Mask(s string) Masked {
	refs, _ := pipeline.Refs(s)
	prefix := "StageflowRef"
	for strings.Contains(s, prefix) {
		prefix += "X"
	}
	m := Masked{Refs: refs, prefix: prefix}
	var b strings.Builder
	last := 0
	for i, r := range refs {
		b.WriteString(s[last:r.Start])
		b.WriteString(m.Token(i))
		last = r.End
	}
	b.WriteString(s[last:])
	m.Text = b.String()
	return m
}

// Token is the placeholder of the i-th reference.
func (m Masked) Token(i int) string { return m.prefix + strconv.Itoa(i) + "Z" }

// Unmask puts the references back in place of their tokens in s (a part of
// the masked text, such as one command parsed out of masked YAML).
func (m Masked) Unmask(s string) string {
	if len(m.Refs) == 0 || !strings.Contains(s, m.prefix) {
		return s
	}
	pairs := make([]string, 0, 2*len(m.Refs))
	for i, r := range m.Refs {
		pairs = append(pairs, m.Token(i), r.String())
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Rewriter rewrites the commands of one build. Every command of a build runs
// in one shell session, so one Rewriter serves them all and gives a
// reference the same variable everywhere.
type Rewriter struct {
	lang   syntax.LangVariant
	values map[string]string // "namespace.name" → value
	names  map[string]string // "namespace.name" → environment variable
	env    []string
}

// NewRewriter makes a rewriter for commands run by shell ("", "sh",
// "/bin/sh": POSIX; "bash", "/bin/bash": bash) with the values of the
// references, keyed "namespace.name" (engine.ActionRun.References).
func NewRewriter(shell string, values map[string]string) *Rewriter {
	return &Rewriter{lang: dialect(shell), values: values, names: map[string]string{}}
}

func dialect(shell string) syntax.LangVariant {
	if strings.HasSuffix(shell, "bash") {
		return syntax.LangBash
	}
	return syntax.LangPOSIX
}

// Env returns the "NAME=value" entries the rewritten commands need.
func (r *Rewriter) Env() []string { return append([]string(nil), r.env...) }

// Rewrite returns cmd with every reference replaced by a quoted expansion of
// its variable. A command without references is returned as it is.
func (r *Rewriter) Rewrite(cmd string) (string, error) {
	m := Mask(cmd)
	if len(m.Refs) == 0 {
		return cmd, nil
	}
	places, err := locate(m, r.lang)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	last := 0
	for i, p := range places {
		ref := m.Refs[i]
		key := ref.Namespace + "." + ref.Name
		val, ok := r.values[key]
		if !ok {
			return "", fmt.Errorf("%s has no value", ref)
		}
		if strings.IndexByte(val, 0) >= 0 {
			return "", fmt.Errorf("the value of %s holds a NUL byte, which no environment variable can carry", ref)
		}
		name, ok := r.names[key]
		if !ok {
			name = EnvPrefix + strconv.Itoa(len(r.names)+1)
			r.names[key] = name
			r.env = append(r.env, name+"="+val)
		}
		b.WriteString(m.Text[last:p.offset])
		b.WriteString(p.kind.expansion(name))
		last = p.offset + len(m.Token(i))
	}
	b.WriteString(m.Text[last:])
	return b.String(), nil
}

// Check reports the first reference of cmd that has no data position for
// the shell ("" is /bin/sh), or a command with references that does not
// parse. It needs no values.
func Check(cmd, shell string) error {
	m := Mask(cmd)
	if len(m.Refs) == 0 {
		return nil
	}
	_, err := locate(m, dialect(shell))
	return err
}
