package apispec

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		shape string
		value any
		want  string
	}{
		{"PipelineName", "p", ""},
		{"PipelineName", "", "must be 1..100 characters long, got 0"},
		{"PipelineName", strings.Repeat("é", 100), `"` + strings.Repeat("é", 60) + `…" may only contain letters, digits and . @ _ -`},
		{"TagKey", strings.Repeat("é", 128), ""}, // 256 bytes, 128 characters
		{"TagKey", strings.Repeat("é", 129), "must be 1..128 characters long, got 129"},
		{"TagValue", strings.Repeat("v", 257), "must be at most 256 characters long, got 257"},
		{"ApprovalSummary", "", ""},
		{"PipelineExecutionId", "0123abcd-0000-1111-2222-333344445555", ""},
		{"PipelineExecutionId", "0123ABCD-0000-1111-2222-333344445555", `"0123ABCD-0000-1111-2222-333344445555" ` + patUUIDWhat},
		{"ClientRequestToken", "tok-1", ""},
		{"ClientRequestToken", "tok_1", `"tok_1" may only contain letters, digits and -`},
		{"ResourceArn", "arn:aws:codepipeline:eu-west-1:123456789012:p", ""},
		{"ResourceArn", "arn:aws:s3:::b", `"arn:aws:s3:::b" must be a CodePipeline ARN (arn:aws:codepipeline:REGION:ACCOUNT:RESOURCE)`},
		{"PipelineVariableValue", "a\nb", `"a\nb" must not contain line breaks`},
		{"ActionCategory", "Build", ""},
		{"ActionCategory", "build", `must be one of Source, Build, Deploy, Test, Invoke, Approval, Compute, got "build"`},
		{"ActionRunOrder", 0, "must be 1..999, got 0"},
		{"PipelineVersion", int64(0), "must be at least 1, got 0"},
		{"MaxBatchSize", int32(1), ""},
		{"CommandList", []string{}, "must have 1..50 entries, got 0"},
		{"ConditionList", []int{1, 2}, "must have exactly 1 entry, got 2"},
		{"QueryParamMap", map[string]string{"a": "1", "b": "2"}, "must have at most 1 entries, got 2"},
		{"Percentage", true, ""}, // not a value Check knows
	}
	for _, tc := range cases {
		if got := MustLookup(tc.shape).Check(tc.value); got != tc.want {
			t.Errorf("%s.Check(%#v) = %q, want %q", tc.shape, tc.value, got, tc.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	if got, want := MustLookup("OutputVariablesKey").CheckKey("a.b"), `key "a.b" may only contain letters, digits and @ _ -`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := MustLookup("ActionConfigurationKey").CheckKey(strings.Repeat("k", 51)), `key "`+strings.Repeat("k", 51)+`" must be 1..50 characters long, got 51`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTableIsConsistent(t *testing.T) {
	for _, s := range All() {
		for _, ref := range []string{s.Member, s.Key, s.Value} {
			if ref != "" && Lookup(ref) == nil {
				t.Errorf("%s refers to %s, which is not in the table", s.Name, ref)
			}
		}
		if len(s.Enum) > 0 && (s.Min != 0 || s.Max != 0 || s.Pattern != "") {
			t.Errorf("%s: an enumeration with bounds or a pattern", s.Name)
		}
	}
	if Lookup("NoSuchShape") != nil {
		t.Error("Lookup of an unknown name returned a shape")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustLookup of an unknown name did not panic")
		}
	}()
	MustLookup("NoSuchShape")
}
