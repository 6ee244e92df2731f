package auth

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

// condDoc is a 2012-10-17 policy of one Allow statement with the condition
// block cond.
func condDoc(cond string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:*","Resource":"*","Condition":` + cond + `}]}`
}

func TestParseConditionsAccepted(t *testing.T) {
	tests := []struct {
		name, cond string
		want       []Condition // Operator, Key, Values
	}{
		{"resource tag", `{"StringEquals":{"aws:ResourceTag/team":"blue"}}`,
			[]Condition{{Operator: "StringEquals", Key: "aws:ResourceTag/team", Values: []string{"blue"}}}},
		{"key names case-insensitive", `{"StringLike":{"AWS:requesttag/Team":["b*","r?d"]}}`,
			[]Condition{{Operator: "StringLike", Key: "AWS:requesttag/Team", Values: []string{"b*", "r?d"}}}},
		{"every string operator, IfExists", `{"StringNotEquals":{"aws:ResourceTag/a":"x"},"StringEqualsIgnoreCase":{"aws:ResourceTag/b":"x"},"StringNotEqualsIgnoreCase":{"aws:ResourceTag/c":"x"},"StringNotLike":{"aws:ResourceTag/d":"x*"},"StringEqualsIfExists":{"aws:RequestTag/e":"x"}}`,
			[]Condition{{Operator: "StringEqualsIfExists", Key: "aws:RequestTag/e"}, {Operator: "StringEqualsIgnoreCase", Key: "aws:ResourceTag/b"},
				{Operator: "StringNotEquals", Key: "aws:ResourceTag/a"}, {Operator: "StringNotEqualsIgnoreCase", Key: "aws:ResourceTag/c"}, {Operator: "StringNotLike", Key: "aws:ResourceTag/d"}}},
		{"set operators on aws:TagKeys", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]},"ForAnyValue:StringLikeIfExists":{"aws:tagkeys":"t*"}}`,
			[]Condition{{Operator: "ForAllValues:StringEquals", Key: "aws:TagKeys", Values: []string{"team", "env"}}, {Operator: "ForAnyValue:StringLikeIfExists", Key: "aws:tagkeys", Values: []string{"t*"}}}},
		{"Null, as string and boolean", `{"Null":{"aws:RequestTag/team":"false","aws:TagKeys":true}}`,
			[]Condition{{Operator: "Null", Key: "aws:RequestTag/team", Values: []string{"false"}}, {Operator: "Null", Key: "aws:TagKeys", Values: []string{"true"}}}},
		{"empty block", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(condDoc(tt.cond)))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Statements[0].Conditions
			if len(got) != len(tt.want) {
				t.Fatalf("conditions %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				if got[i].Operator != w.Operator || got[i].Key != w.Key || (w.Values != nil && strings.Join(got[i].Values, ",") != strings.Join(w.Values, ",")) {
					t.Errorf("condition %d: %+v, want %+v", i, got[i], w)
				}
			}
			// What Parse accepts, MarshalJSON writes back and Parse reads again.
			doc, err := p.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(doc)
			if err != nil || len(again.Statements[0].Conditions) != len(got) {
				t.Fatalf("round trip: %v %s", err, doc)
			}
		})
	}
}

func TestParseConditionsRefused(t *testing.T) {
	const c = "Statement[0].Condition"
	tests := []struct {
		name, cond, path, words string
	}{
		{"not an object", `"x"`, c, "object of condition operators"},
		{"operator not evaluated", `{"ArnLike":{"aws:ResourceTag/team":"x"}}`, c + ".ArnLike", "not supported"},
		{"operator case", `{"stringequals":{"aws:ResourceTag/team":"x"}}`, c + ".stringequals", "case-sensitive"},
		{"Bool", `{"Bool":{"aws:SecureTransport":"true"}}`, c + ".Bool", "not supported"},
		{"NullIfExists", `{"NullIfExists":{"aws:TagKeys":"true"}}`, c + ".NullIfExists", "no IfExists"},
		{"set operator on Null", `{"ForAllValues:Null":{"aws:TagKeys":"true"}}`, c + `.ForAllValues:Null`, "no ForAllValues"},
		{"operator value not an object", `{"StringEquals":"x"}`, c + ".StringEquals", "object of condition keys"},
		{"operator without keys", `{"StringEquals":{}}`, c + ".StringEquals", "names no condition key"},
		{"global key not evaluated", `{"StringEquals":{"aws:username":"bob"}}`, c + `.StringEquals.aws:username`, "condition key \"aws:username\" is not supported"},
		{"service key not evaluated", `{"StringEquals":{"codepipeline:Foo":"x"}}`, c + `.StringEquals.codepipeline:Foo`, "not supported"},
		{"principal tag", `{"StringEquals":{"aws:PrincipalTag/team":"x"}}`, c + `.StringEquals.aws:PrincipalTag/team`, "not supported"},
		{"no tag key", `{"StringEquals":{"aws:ResourceTag/":"x"}}`, c + `.StringEquals.aws:ResourceTag/`, "no tag key"},
		{"tag key too long", `{"StringEquals":{"aws:ResourceTag/` + strings.Repeat("k", 129) + `":"x"}}`, c + `.StringEquals.aws:ResourceTag/` + strings.Repeat("k", 129), "at most 128"},
		{"variable in the tag key", `{"StringEquals":{"aws:ResourceTag/${aws:username}":"x"}}`, c + `.StringEquals.aws:ResourceTag/${aws:username}`, "policy variables"},
		{"variable in a value", `{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`, c + `.StringEquals.aws:ResourceTag/owner`, "policy variables"},
		{"TagKeys without a set operator", `{"StringEquals":{"aws:TagKeys":"team"}}`, c + `.StringEquals.aws:TagKeys`, "multivalued"},
		{"set operator on a single-valued key", `{"ForAnyValue:StringEquals":{"aws:RequestTag/team":"x"}}`, c + `.ForAnyValue:StringEquals.aws:RequestTag/team`, "single-valued"},
		{"key twice in another case", `{"StringEquals":{"aws:ResourceTag/team":"a","AWS:ResourceTag/team":"b"}}`, c + `.StringEquals.aws:ResourceTag/team`, "case-insensitive"},
		{"value a number", `{"StringEquals":{"aws:ResourceTag/team":3}}`, c + `.StringEquals.aws:ResourceTag/team`, "string"},
		{"empty value list", `{"StringEquals":{"aws:ResourceTag/team":[]}}`, c + `.StringEquals.aws:ResourceTag/team`, "empty"},
		{"Null value", `{"Null":{"aws:TagKeys":"yes"}}`, c + `.Null.aws:TagKeys`, "\"true\""},
		{"Null value in a list", `{"Null":{"aws:TagKeys":["true",1]}}`, c + `.Null.aws:TagKeys[1]`, "\"true\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(condDoc(tt.cond)))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Validation {
				t.Fatalf("error %v is not a Validation error", err)
			}
			for _, pr := range e.Problems {
				if pr.Path == tt.path && strings.Contains(pr.Message, tt.words) {
					return
				}
			}
			t.Fatalf("problems %v, want one at %q saying %q", e.Problems, tt.path, tt.words)
		})
	}
}

// TestEvaluateConditions: each operator, IfExists, Null, the set operators
// and missing keys, as IAM documents them.
func TestEvaluateConditions(t *testing.T) {
	blue := &RequestContext{ResourceTags: map[string]string{"team": "blue", "env": "Prod"}}
	create := &RequestContext{RequestTags: map[string]string{"team": "blue", "env": "dev"}, TagKeys: []string{"team", "env"}}
	untag := &RequestContext{TagKeys: []string{"team"}}
	none := &RequestContext{}
	tests := []struct {
		name, cond string
		rc         *RequestContext
		want       bool
	}{
		{"equals", `{"StringEquals":{"aws:ResourceTag/team":"blue"}}`, blue, true},
		{"equals is case-sensitive in the value", `{"StringEquals":{"aws:ResourceTag/team":"Blue"}}`, blue, false},
		{"tag key is case-insensitive", `{"StringEquals":{"aws:ResourceTag/TEAM":"blue"}}`, blue, true},
		{"values are OR", `{"StringEquals":{"aws:ResourceTag/team":["red","blue"]}}`, blue, true},
		{"keys are AND", `{"StringEquals":{"aws:ResourceTag/team":"blue","aws:ResourceTag/env":"dev"}}`, blue, false},
		{"operators are AND", `{"StringEquals":{"aws:ResourceTag/team":"blue"},"StringLike":{"aws:ResourceTag/env":"P*"}}`, blue, true},
		{"equals, key missing", `{"StringEquals":{"aws:ResourceTag/team":"blue"}}`, none, false},
		{"equals, no request context", `{"StringEquals":{"aws:ResourceTag/team":"blue"}}`, nil, false},
		{"not equals", `{"StringNotEquals":{"aws:ResourceTag/team":"red"}}`, blue, true},
		{"not equals, matching", `{"StringNotEquals":{"aws:ResourceTag/team":"blue"}}`, blue, false},
		{"not equals is NOR over values", `{"StringNotEquals":{"aws:ResourceTag/team":["red","blue"]}}`, blue, false},
		{"not equals, key missing holds", `{"StringNotEquals":{"aws:ResourceTag/team":"blue"}}`, none, true},
		{"equals ignore case", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/env":"PROD"}}`, blue, true},
		{"not equals ignore case", `{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/env":"prod"}}`, blue, false},
		{"like", `{"StringLike":{"aws:ResourceTag/team":"b?u*"}}`, blue, true},
		{"like is case-sensitive", `{"StringLike":{"aws:ResourceTag/team":"B*"}}`, blue, false},
		{"like, key missing", `{"StringLike":{"aws:ResourceTag/team":"*"}}`, none, false},
		{"not like", `{"StringNotLike":{"aws:ResourceTag/team":"r*"}}`, blue, true},
		{"not like, matching", `{"StringNotLike":{"aws:ResourceTag/team":"b*"}}`, blue, false},
		{"IfExists, key missing holds", `{"StringEqualsIfExists":{"aws:ResourceTag/team":"red"}}`, none, true},
		{"IfExists, key present is checked", `{"StringEqualsIfExists":{"aws:ResourceTag/team":"red"}}`, blue, false},
		{"request tag", `{"StringEquals":{"aws:RequestTag/team":"blue"}}`, create, true},
		{"request tag is not the resource's", `{"StringEquals":{"aws:RequestTag/team":"blue"}}`, blue, false},
		{"Null true: key absent", `{"Null":{"aws:RequestTag/team":"true"}}`, none, true},
		{"Null true: key present", `{"Null":{"aws:RequestTag/team":"true"}}`, create, false},
		{"Null false: key present", `{"Null":{"aws:RequestTag/team":"false"}}`, create, true},
		{"Null false: key absent", `{"Null":{"aws:TagKeys":"false"}}`, none, false},
		{"ForAllValues: every key listed", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env","owner"]}}`, create, true},
		{"ForAllValues: a key not listed", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, create, false},
		{"ForAllValues: no keys holds", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, none, true},
		{"ForAllValues negated: none listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["owner"]}}`, create, true},
		{"ForAllValues negated: one listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["team"]}}`, create, false},
		{"ForAnyValue: one listed", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}`, untag, true},
		{"ForAnyValue: none listed", `{"ForAnyValue:StringLike":{"aws:TagKeys":"own*"}}`, create, false},
		{"ForAnyValue: no keys fails", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}`, none, false},
		{"ForAnyValue IfExists: no keys holds", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"team"}}`, none, true},
		{"ForAnyValue negated: one unlisted", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"team"}}`, create, true},
		{"ForAnyValue negated: all listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"team"}}`, untag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MustParse(condDoc(tt.cond))
			d, _ := Evaluate([]*Policy{p}, "codepipeline:StartPipelineExecution", "arn:aws:codepipeline:us-east-1:123456789012:p", tt.rc)
			if (d == Allowed) != tt.want {
				t.Fatalf("Evaluate = %v, want allowed=%v", d, tt.want)
			}
		})
	}
}

// TestConditionOnDeny: a Deny applies only when its conditions hold, so a
// missing key under a positive operator does not deny.
func TestConditionOnDeny(t *testing.T) {
	p := MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
	  {"Effect":"Deny","Action":"codepipeline:StartPipelineExecution","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]}`)
	const arn = "arn:aws:codepipeline:us-east-1:123456789012:p"
	if d, _ := Evaluate([]*Policy{p}, "codepipeline:StartPipelineExecution", arn, &RequestContext{ResourceTags: map[string]string{"env": "prod"}}); d != ExplicitDeny {
		t.Fatalf("tagged prod: %v", d)
	}
	if d, _ := Evaluate([]*Policy{p}, "codepipeline:StartPipelineExecution", arn, nil); d != Allowed {
		t.Fatalf("untagged: %v", d)
	}
}

func TestUsesResourceTags(t *testing.T) {
	if UsesResourceTags([]*Policy{MustParse(condDoc(`{"StringEquals":{"aws:RequestTag/team":"x"}}`)), nil}) {
		t.Fatal("request tags reported as resource tags")
	}
	if !UsesResourceTags([]*Policy{MustParse(condDoc(`{"Null":{"AWS:RESOURCETAG/team":"true"}}`))}) {
		t.Fatal("a ResourceTag condition not reported")
	}
}
