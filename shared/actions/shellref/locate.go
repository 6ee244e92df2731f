package shellref

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// kind is the quoting a reference stands in.
type kind int

const (
	unquoted     kind = iota // a plain word, or the middle of one
	doubleQuoted             // inside "…"
	singleQuoted             // inside '…'
	dollarQuoted             // inside $'…' (bash)
)

// expansion is the shell text that reads variable name as one piece of data
// in a position of this kind.
func (k kind) expansion(name string) string {
	v := "${" + name + "}"
	switch k {
	case doubleQuoted:
		return v
	case singleQuoted:
		return `'"` + v + `"'`
	case dollarQuoted:
		return `'"` + v + `"$'`
	}
	return `"` + v + `"`
}

// place is where one reference's token stands in the masked text.
type place struct {
	offset int
	kind   kind
}

// refusal says why a reference has no data position.
func refusal(where string) error {
	return fmt.Errorf("a variable reference cannot stand %s; use an environment variable", where)
}

// locate finds the quoting of every token of m, in order, or says why one
// has no data position.
func locate(m Masked, lang syntax.LangVariant) ([]place, error) {
	file, err := syntax.NewParser(syntax.Variant(lang), syntax.KeepComments(true)).Parse(strings.NewReader(m.Text), "")
	if err != nil {
		var perr syntax.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("a command with variable references must be valid shell: %s", m.Unmask(perr.Text))
		}
		return nil, fmt.Errorf("a command with variable references must be valid shell: %s", m.Unmask(err.Error()))
	}
	places := make([]place, len(m.Refs))
	for i := range m.Refs {
		tok := m.Token(i)
		off := strings.Index(m.Text, tok)
		if off > 0 && m.Text[off-1] == '\\' {
			return nil, refusal("after a backslash")
		}
		k, err := classify(file, off, off+len(tok))
		if err != nil {
			return nil, err
		}
		places[i] = place{offset: off, kind: k}
	}
	return places, nil
}

// classify finds the innermost node holding [start, end) and tells its
// quoting from it and its ancestors.
func classify(file *syntax.File, start, end int) (kind, error) {
	var stack, best []syntax.Node
	syntax.Walk(file, func(n syntax.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		if int(n.Pos().Offset()) <= start && end <= int(n.End().Offset()) {
			best = append(best[:0], stack...)
		}
		return true
	})
	if len(best) == 0 {
		return 0, refusal("here")
	}
	node := best[len(best)-1]
	ancestors := best[:len(best)-1]
	if err := checkAncestors(ancestors); err != nil {
		return 0, err
	}
	var parent syntax.Node
	if len(ancestors) > 0 {
		parent = ancestors[len(ancestors)-1]
	}
	switch n := node.(type) {
	case *syntax.Comment:
		return 0, refusal("in a comment")
	case *syntax.SglQuoted:
	quoting:
		for i := len(ancestors) - 1; i >= 0; i-- {
			switch ancestors[i].(type) {
			case *syntax.CmdSubst, *syntax.ProcSubst:
				break quoting // a new quoting context
			case *syntax.DblQuoted:
				return 0, refusal("in single quotes inside double quotes")
			}
		}
		if n.Dollar {
			return dollarQuoted, nil
		}
		return singleQuoted, nil
	case *syntax.Lit:
		switch p := parent.(type) {
		case *syntax.DblQuoted:
			return doubleQuoted, nil
		case *syntax.Word:
			return wordKind(p, ancestors[:len(ancestors)-1])
		}
		return 0, refusal("in a name (of a variable, function or file descriptor)")
	}
	return 0, refusal("here")
}

// checkAncestors refuses positions inside constructs that give a value a
// meaning of their own.
func checkAncestors(ancestors []syntax.Node) error {
	for i, a := range ancestors {
		switch a := a.(type) {
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause, *syntax.CStyleLoop,
			*syntax.BinaryArithm, *syntax.UnaryArithm, *syntax.ParenArithm:
			return refusal("in arithmetic")
		case *syntax.CmdSubst:
			if a.Backquotes {
				return refusal("in a `…` command substitution (use $(…))")
			}
		case *syntax.Redirect:
			if i+1 < len(ancestors) && a.Hdoc != nil && ancestors[i+1] == syntax.Node(a.Hdoc) {
				return refusal("in a heredoc body")
			}
			if i+1 < len(ancestors) && (a.Op == syntax.Hdoc || a.Op == syntax.DashHdoc) && ancestors[i+1] == syntax.Node(a.Word) {
				return refusal("in a heredoc delimiter")
			}
		}
	}
	return nil
}

// wordKind is the quoting of a literal part of word w, whose ancestors are
// given (heredocs are refused by checkAncestors): unquoted, unless the word
// is part of a parameter expansion other than its default, alternative or
// replacement words.
func wordKind(w *syntax.Word, ancestors []syntax.Node) (kind, error) {
	if len(ancestors) == 0 {
		return unquoted, nil
	}
	p, ok := ancestors[len(ancestors)-1].(*syntax.ParamExp)
	if !ok || (p.Exp != nil && p.Exp.Word == w) || (p.Repl != nil && (p.Repl.Orig == w || p.Repl.With == w)) {
		return unquoted, nil
	}
	return 0, refusal("in a parameter expansion's index or slice")
}
