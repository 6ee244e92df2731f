package lambdaenv

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	env := map[string]string{Table: "t", StateMachineARN: "  ", ArtifactBucket: "b"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		names   []string
		want    map[string]string
		missing []string
	}{
		{names: []string{Table, ArtifactBucket}, want: map[string]string{Table: "t", ArtifactBucket: "b"}},
		{names: []string{Table, StateMachineARN, ArtifactRoleARN}, missing: []string{StateMachineARN, ArtifactRoleARN}},
		{names: nil, want: map[string]string{}},
	}
	for _, tt := range tests {
		got, err := Load(lookup, tt.names...)
		if tt.missing != nil {
			if err == nil {
				t.Errorf("Load(%v) = %v, want an error naming %v", tt.names, got, tt.missing)
				continue
			}
			for _, m := range tt.missing {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Load(%v): %v does not name %s", tt.names, err, m)
				}
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("Load(%v) = %v, %v; want %v", tt.names, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("Load(%v)[%s] = %q, want %q", tt.names, k, got[k], v)
			}
		}
	}
}
