package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// MaxDocumentBytes bounds the size of a pipeline document.
const MaxDocumentBytes = 1 << 20

// Parse reads a pipeline document (bare pipeline or envelope) and reports
// every structural problem at once: malformed JSON (with line and column),
// object members given twice, unknown fields, values of the wrong type,
// nulls, empty optional strings and absent required members (with their
// JSON path), in shared/strictjson's words. It does not apply the semantic rules; Load does both.
//
// A document without such problems marshals back to the same JSON value:
// the types have no Go value for a null, an empty optional string or an
// absent required member, and encoding/json would merge a repeated member.
// (The one exception, an integer written -0, breaks no round trip of a
// document Load accepts: no integer member may be 0.)
func Parse(data []byte) (*Document, []errs.Problem) {
	doc, problems := parse(data)
	return doc, relative(doc, problems.Errs())
}

// Load parses and validates a document. The error, when not nil, is an
// *errs.Error of code Validation listing every problem. Each path is
// reported once: a rule problem at or under a path that parsing already
// reported is left out, except that a rule problem at the path of an absent
// required member replaces parsing's plainer "is required".
func Load(data []byte) (*Document, error) {
	doc, parsed := parse(data)
	problems := parsed.Errs()
	if doc != nil {
		var rules []errs.Problem
		for _, p := range Validate(&doc.Pipeline) {
			if doc.Enveloped {
				p.Path = strictjson.Join("pipeline", p.Path)
			}
			rules = append(rules, p)
		}
		rules = append(rules, validateEnvelope(doc)...)
		problems = relative(doc, merge(parsed, rules))
	}
	if len(problems) > 0 {
		return doc, errs.Invalid("invalid pipeline", problems)
	}
	return doc, nil
}

// parse is Parse with the paths relative to the document.
func parse(data []byte) (*Document, strictjson.Problems) {
	if len(data) > MaxDocumentBytes {
		return nil, strictjson.Problems{{Class: strictjson.Constraint, Problem: errs.Problem{Message: fmt.Sprintf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)}}}
	}
	tree, problems := strictjson.Parse(data)
	if tree == nil {
		return nil, problems
	}
	obj, ok := tree.Root().(map[string]any)
	if !ok {
		return nil, strictjson.Problems{{Class: strictjson.Type, Problem: errs.Problem{Message: "the document must be a JSON object (a pipeline, or {\"pipeline\": {...}})"}}}
	}
	doc := &Document{}
	var target any = &doc.Pipeline
	if _, env := obj["pipeline"]; env {
		doc.Enveloped = true
		target = doc
	}
	// The pipeline types have no Go value for a null, an empty optional
	// string or an absent required member: Roundtrip reports all three.
	return doc, append(problems, tree.Decode(target, strictjson.Options{Roundtrip: true})...)
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

// merge adds the rule problems to those of parsing so that each path is
// reported once. A rule problem is left out when its path is, or is under,
// the path of a parsing problem; under an absent required member only the
// member itself counts, and a rule problem at that very path is kept instead
// of parsing's plainer "is required" (Validate's may say more, e.g. which
// values are allowed).
func merge(parsed strictjson.Problems, rules []errs.Problem) []errs.Problem {
	reported := map[string]bool{} // hide rule problems at and under their path
	absent := map[string]bool{}   // absent members: hide rule problems strictly under their path
	for _, p := range parsed {
		switch {
		case p.Path == "":
		case p.Class == strictjson.Required:
			absent[p.Path] = true
		default:
			reported[p.Path] = true
		}
	}
	atRule := map[string]bool{}
	var kept []errs.Problem
	for _, p := range rules {
		if p.Path != "" && (strictjson.Under(p.Path, reported) || strictly(p.Path, absent)) {
			continue
		}
		atRule[p.Path] = true
		kept = append(kept, p)
	}
	out := make([]errs.Problem, 0, len(parsed)+len(kept))
	for _, p := range parsed {
		if p.Class == strictjson.Required && atRule[p.Path] {
			continue
		}
		out = append(out, p.Problem)
	}
	return append(out, kept...)
}

// strictly reports whether path is strictly under one of the paths.
func strictly(path string, paths map[string]bool) bool {
	return !paths[path] && strictjson.Under(path, paths)
}

// MarshalJSON writes the document in the form it was read in.
func (d Document) MarshalJSON() ([]byte, error) {
	if !d.Enveloped {
		return json.Marshal(d.Pipeline)
	}
	type envelope Document
	return json.Marshal(envelope(d))
}
