package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestRefs(t *testing.T) {
	cases := []struct {
		in   string
		want []Ref
		err  string // fragment of the error; "" for none
	}{
		{in: "", want: nil},
		{in: "no refs { } # here", want: nil},
		{in: "#{a.b}", want: []Ref{{Namespace: "a", Name: "b", Start: 0, End: 6}}},
		{in: "x #{SourceVars.CommitId}-#{variables.Env}!", want: []Ref{
			{Namespace: "SourceVars", Name: "CommitId", Start: 2, End: 24},
			{Namespace: "variables", Name: "Env", Start: 25, End: 41},
		}},
		{in: "#{ns.a.b}", want: []Ref{{Namespace: "ns", Name: "a.b", Start: 0, End: 9}}},
		{in: "##{a.b}}", want: []Ref{{Namespace: "a", Name: "b", Start: 1, End: 7}}},
		{in: "#{a.b} #{oops", want: []Ref{{Namespace: "a", Name: "b", Start: 0, End: 6}}, err: `"#{oops" is not closed`},
		{in: "#{nodot} #{c.d}", want: []Ref{{Namespace: "c", Name: "d", Start: 9, End: 15}}, err: `"#{nodot}" is not a variable reference`},
		{in: "#{.x}", err: "is not a variable reference"},
		{in: "#{x.}", err: "is not a variable reference"},
		{in: "#{}", err: "is not a variable reference"},
		{in: "#{a} #{b}", err: `"#{b}" is not a variable reference`},
	}
	for _, tc := range cases {
		got, err := Refs(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Refs(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Refs(%q): unexpected error %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Refs(%q): error %v, want …%s…", tc.in, err, tc.err)
		}
		for _, r := range got {
			if tc.in[r.Start:r.End] != r.String() {
				t.Errorf("Refs(%q): %+v does not cover %q", tc.in, r, r.String())
			}
		}
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{
		"codepipeline.PipelineExecutionId": "exec-1",
		"variables.Env":                    "prod",
		"Src.CommitId":                     "abc123",
		"Src.Tricky":                       "#{Src.CommitId}",
		"Src.Empty":                        "",
	}
	lookup := func(ns, name string) (string, bool) {
		v, ok := vars[ns+"."+name]
		return v, ok
	}
	cases := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: "deploy #{Src.CommitId} to #{variables.Env} (#{codepipeline.PipelineExecutionId})", want: "deploy abc123 to prod (exec-1)"},
		{in: "#{Src.Tricky}", want: "#{Src.CommitId}"}, // values are not expanded again
		{in: "[#{Src.Empty}]", want: "[]"},
		{in: "#{Src.Nope} and #{Other.x}", err: "unresolved variable references #{Src.Nope}, #{Other.x}"},
		{in: "#{variables.Region}", err: "unresolved variable reference #{variables.Region}"},
		{in: "#{Src.CommitId", err: "is not closed"},
		{in: "#{bad}", err: "is not a variable reference"},
	}
	for _, tc := range cases {
		got, err := Substitute(tc.in, lookup)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Substitute(%q): error %v, want …%s…", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
