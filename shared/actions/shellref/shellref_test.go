package shellref

import (
	"reflect"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	values := map[string]string{"variables.A": "a value", "Build.B": "$(b)"}
	cases := []struct {
		name, shell, cmd, want string
		env                    []string
	}{
		{"no reference", "", `echo "$HOME" # #{`, `echo "$HOME" # #{`, nil},
		{"unquoted word", "", `echo #{variables.A}`, `echo "${STAGEFLOW_REF_1}"`, []string{"STAGEFLOW_REF_1=a value"}},
		{"middle of a word", "", `echo x#{variables.A}y`, `echo x"${STAGEFLOW_REF_1}"y`, []string{"STAGEFLOW_REF_1=a value"}},
		{"double quotes", "", `echo "x #{variables.A}y"`, `echo "x ${STAGEFLOW_REF_1}y"`, []string{"STAGEFLOW_REF_1=a value"}},
		{"single quotes", "", `echo 'x #{variables.A}y'`, `echo 'x '"${STAGEFLOW_REF_1}"'y'`, []string{"STAGEFLOW_REF_1=a value"}},
		{"bash $'…'", "bash", `echo $'x\t#{variables.A}'`, `echo $'x\t'"${STAGEFLOW_REF_1}"$''`, []string{"STAGEFLOW_REF_1=a value"}},
		{"one variable per reference", "", `echo #{Build.B} #{variables.A} #{Build.B}`,
			`echo "${STAGEFLOW_REF_1}" "${STAGEFLOW_REF_2}" "${STAGEFLOW_REF_1}"`, []string{"STAGEFLOW_REF_1=$(b)", "STAGEFLOW_REF_2=a value"}},
		{"assignment value", "", `X=#{variables.A} make`, `X="${STAGEFLOW_REF_1}" make`, []string{"STAGEFLOW_REF_1=a value"}},
		{"default of a parameter expansion in double quotes", "", `echo "${X:-#{variables.A}}"`, `echo "${X:-"${STAGEFLOW_REF_1}"}"`, []string{"STAGEFLOW_REF_1=a value"}},
		{"command substitution in double quotes", "", `echo "$(echo #{variables.A})"`, `echo "$(echo "${STAGEFLOW_REF_1}")"`, []string{"STAGEFLOW_REF_1=a value"}},
		{"heredoc delimiter line is not the body", "", "cat <<EOF >#{variables.A}\nbody\nEOF", "cat <<EOF >\"${STAGEFLOW_REF_1}\"\nbody\nEOF", []string{"STAGEFLOW_REF_1=a value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rw := NewRewriter(tc.shell, values)
			got, err := rw.Rewrite(tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Rewrite(%q) = %q, want %q", tc.cmd, got, tc.want)
			}
			if !reflect.DeepEqual(rw.Env(), tc.env) {
				t.Errorf("Env() = %q, want %q", rw.Env(), tc.env)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct{ name, cmd, msg string }{
		{"heredoc body", "cat <<EOF\n#{variables.A}\nEOF", "in a heredoc body"},
		{"heredoc delimiter", "cat <<#{variables.A}\nx\nEOF", "unclosed here-document `#{variables.A}`"},
		{"comment", "true # #{variables.A}", "in a comment"},
		{"function name", "#{variables.A}() { true; }", "in a name"},
		{"for variable", "for #{variables.A} in 1; do true; done", "in a name"},
		{"arithmetic", "echo $(( #{variables.A} ))", "in arithmetic"},
		{"backquotes", "echo `echo #{variables.A}`", "command substitution"},
		{"single quotes in a double-quoted expansion", `echo "${X:-'#{variables.A}'}"`, "inside double quotes"},
		{"backslash", `echo \#{variables.A}`, "after a backslash"},
		{"does not parse", `echo "#{variables.A}`, "must be valid shell"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.cmd, "")
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Check(%q) = %v, want an error with %q", tc.cmd, err, tc.msg)
			}
			if _, rerr := NewRewriter("", map[string]string{"variables.A": "x"}).Rewrite(tc.cmd); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Rewrite refused with %v, Check with %v", rerr, err)
			}
		})
	}
}

func TestMaskUnmask(t *testing.T) {
	s := "a #{variables.A} StageflowRef0Z b #{x.y}"
	m := Mask(s)
	if strings.Contains(m.Text, "#{") || len(m.Refs) != 2 {
		t.Fatalf("Mask(%q) = %q with %d refs", s, m.Text, len(m.Refs))
	}
	if got := m.Unmask(m.Text); got != s {
		t.Errorf("Unmask(Mask(s)) = %q, want %q", got, s)
	}
}
