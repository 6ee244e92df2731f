package auth

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(*Policy) bool
	}{
		{"string forms", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"codepipeline:Get*","Resource":"*"}}`,
			func(p *Policy) bool {
				return len(p.Statements) == 1 && p.Statements[0].Actions[0] == "codepipeline:Get*" && p.Statements[0].Resources[0] == "*"
			}},
		{"list forms, Sid and Id", `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"One1","Effect":"Deny","NotAction":["codepipeline:List*","codepipeline:Get?ipeline"],"Resource":["arn:aws:codepipeline:us-east-1:123456789012:p","arn:aws:codepipeline:*:*:q/*"]}]}`,
			func(p *Policy) bool {
				s := p.Statements[0]
				return p.ID == "x" && s.Sid == "One1" && s.Effect == Deny && len(s.NotActions) == 2 && s.Actions == nil && len(s.Resources) == 2
			}},
		{"version 2008", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:codepipeline:r:1:${literal}"}]}`,
			func(p *Policy) bool { return p.Version == Version2008 }},
		{"no version reads as 2008", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			func(p *Policy) bool { return p.Version == Version2008 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(p) {
				t.Fatalf("parsed %+v", p)
			}
		})
	}
}

// TestParseRefuses: each document is refused whole, the problem naming the
// element and its JSON path.
func TestParseRefuses(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"codepipeline:GetPipeline","Resource":"*"`
	tests := []struct {
		name, doc, path, words string
	}{
		{"malformed JSON", `{"Statement":[`, "", "JSON"},
		{"not an object", `[]`, "", "JSON object"},
		{"duplicate member", `{"Statement":[{` + ok + `,"Effect":"Deny"}]}`, "Statement[0].Effect", "more than once"},
		{"unknown policy member", `{"Statment":[{` + ok + `}]}`, "Statment", "unknown element"},
		{"unknown statement member", `{"Statement":[{` + ok + `,"Comment":"x"}]}`, "Statement[0].Comment", "unknown element"},
		{"wrong case member", `{"Statement":[{` + ok + `,"sid":"x"}]}`, "Statement[0].sid", "case-sensitive"},
		{"Condition on a key not evaluated", `{"Version":"2012-10-17","Statement":[{` + ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, "Statement[0].Condition.IpAddress", "not supported"},
		{"NotResource", `{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:codepipeline:r:1:p"}]}`, "Statement[0].NotResource", "NotResource element is not supported"},
		{"Principal", `{"Statement":[{` + ok + `,"Principal":"*"}]}`, "Statement[0].Principal", "Principal element is not supported"},
		{"NotPrincipal", `{"Statement":{` + ok + `,"NotPrincipal":{"AWS":"x"}}}`, "Statement.NotPrincipal", "NotPrincipal element is not supported"},
		{"unknown version", `{"Version":"2020-01-01","Statement":[{` + ok + `}]}`, "Version", "not one IAM knows"},
		{"no statement", `{"Version":"2012-10-17"}`, "Statement", "needs a Statement"},
		{"empty statement list", `{"Statement":[]}`, "Statement", "empty"},
		{"statement not an object", `{"Statement":["x"]}`, "Statement[0]", "JSON object"},
		{"no effect", `{"Statement":[{"Action":"*","Resource":"*"}]}`, "Statement[0].Effect", "needs an Effect"},
		{"lower-case effect", `{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`, "Statement[0].Effect", "case-sensitive"},
		{"no action", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, "Statement[0].Action", "needs an Action"},
		{"both action and notaction", `{"Statement":[{` + ok + `,"NotAction":"x:y"}]}`, "Statement[0].NotAction", "not both"},
		{"no resource", `{"Statement":[{"Effect":"Allow","Action":"*"}]}`, "Statement[0].Resource", "needs a Resource"},
		{"action without service", `{"Statement":[{"Effect":"Allow","Action":"GetPipeline","Resource":"*"}]}`, "Statement[0].Action", "service:Action"},
		{"action a number", `{"Statement":[{"Effect":"Allow","Action":["codepipeline:GetPipeline",3],"Resource":"*"}]}`, "Statement[0].Action[1]", "string"},
		{"empty action list", `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, "Statement[0].Action", "empty"},
		{"resource not an ARN", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"pipeline/p"}]}`, "Statement[0].Resource", "not \"*\" nor an ARN"},
		{"wildcard service segment", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:code*:r:1:p"}]}`, "Statement[0].Resource", "service segment"},
		{"policy variable", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:codepipeline:r:1:${aws:username}"}]}`, "Statement[0].Resource", "policy variables"},
		{"bad sid", `{"Statement":[{"Sid":"a b",` + ok + `}]}`, "Statement[0].Sid", "letters and digits"},
		{"duplicate sid", `{"Statement":[{"Sid":"A",` + ok + `},{"Sid":"A",` + ok + `}]}`, "Statement[1].Sid", "unique"},
		{"null member", `{"Statement":[{"Effect":null,"Action":"*","Resource":"*"}]}`, "Statement[0].Effect", "Effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Validation {
				t.Fatalf("error %v is not a Validation error", err)
			}
			found := false
			for _, pr := range e.Problems {
				if pr.Path == tt.path && strings.Contains(pr.Message, tt.words) {
					found = true
				}
			}
			if !found {
				t.Fatalf("problems %v, want one at %q saying %q", e.Problems, tt.path, tt.words)
			}
		})
	}
}

func TestParseRefusesHugeDocuments(t *testing.T) {
	doc := `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Sid":"` + strings.Repeat("a", maxPolicySize) + `"}]}`
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err %v, want the size limit", err)
	}
}

func TestBuiltinsParseAndRoundTrip(t *testing.T) {
	names := BuiltinNames()
	if len(names) != 5 {
		t.Fatalf("built-ins %v", names)
	}
	for _, n := range names {
		p, ok := Builtin(n)
		if !ok || len(p.Statements) == 0 {
			t.Fatalf("%s: %v %v", n, p, ok)
		}
		doc, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(doc)
		if err != nil {
			t.Fatalf("%s does not parse back: %v\n%s", n, err, doc)
		}
		if len(again.Statements) != len(p.Statements) {
			t.Fatalf("%s: %d statements back, want %d", n, len(again.Statements), len(p.Statements))
		}
	}
	if _, ok := Builtin("AdministratorAccess"); ok {
		t.Fatal("an unknown built-in was found")
	}
}
