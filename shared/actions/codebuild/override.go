package codebuild

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stageflow/stageflow/shared/actions/buildspec"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/actions/shellref"
)

// inlineOverride reads an inline BuildspecOverride as written, references
// included, and builds the buildspec as data: the YAML is parsed first (with
// each reference masked by a token YAML gives no meaning to), then every
// command's references become quoted expansions of environment variables
// (package shellref) and env.variables values take the referenced values as
// text. A reference anywhere else is refused. Pasting values into the YAML
// text instead would let a newline or a quote in a value change the
// buildspec itself. The returned entries are the environment the rewritten
// commands need.
func inlineOverride(raw string, values map[string]string) (*buildspec.Spec, []string, error) {
	m := shellref.Mask(raw)
	spec, err := buildspec.Parse([]byte(m.Text))
	if err != nil {
		return nil, nil, hostbuild.ConfigErrorf("%s: %s", ConfigBuildspecOverride, m.Unmask(err.Error()))
	}
	if len(m.Refs) == 0 {
		return spec, nil, nil
	}
	if err := refsOnlyWhereAllowed(m); err != nil {
		return nil, nil, err
	}
	rw := shellref.NewRewriter(spec.Env.Shell, values)
	for pi := range spec.Phases {
		ph := &spec.Phases[pi]
		for _, list := range []struct {
			key  string
			cmds []string
		}{{"commands", ph.Commands}, {"finally", ph.Finally}} {
			for i, c := range list.cmds {
				out, err := rw.Rewrite(m.Unmask(c))
				if err != nil {
					return nil, nil, hostbuild.ConfigErrorf("%s: phases.%s.%s[%d]: %v", ConfigBuildspecOverride, strings.ToLower(ph.Name), list.key, i, err)
				}
				list.cmds[i] = out
			}
		}
	}
	for k, v := range spec.Env.Variables {
		for i, r := range m.Refs {
			v = strings.ReplaceAll(v, m.Token(i), values[r.Namespace+"."+r.Name])
		}
		spec.Env.Variables[k] = v
	}
	return spec, rw.Env(), nil
}

// refsOnlyWhereAllowed refuses a masked reference outside the phases'
// commands and finally lists and the values of env.variables.
func refsOnlyWhereAllowed(m shellref.Masked) error {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(m.Text), &doc); err != nil {
		return hostbuild.ConfigErrorf("%s: %v", ConfigBuildspecOverride, err)
	}
	var bad string
	var walk func(n *yaml.Node, path string, allowed bool)
	walk = func(n *yaml.Node, path string, allowed bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path, allowed)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				walk(n.Content[i], path, false)
				p := strings.TrimPrefix(path+"."+key, ".")
				walk(n.Content[i+1], p, allowed || allowedPath(p))
			}
		case yaml.ScalarNode:
			if bad == "" && !allowed && hasToken(m, n.Value) {
				bad = path
			}
		}
	}
	walk(&doc, "", false)
	if bad != "" {
		return hostbuild.ConfigErrorf("%s: %s: a variable reference can stand only in phase commands and env.variables values", ConfigBuildspecOverride, bad)
	}
	return nil
}

// allowedPath tells the buildspec paths whose strings may hold references.
func allowedPath(p string) bool {
	parts := strings.Split(p, ".")
	switch {
	case len(parts) == 3 && parts[0] == "env" && parts[1] == "variables":
		return true
	case len(parts) == 3 && parts[0] == "phases" && (parts[2] == "commands" || parts[2] == "finally"):
		return true
	}
	return false
}

func hasToken(m shellref.Masked, s string) bool {
	for i := range m.Refs {
		if strings.Contains(s, m.Token(i)) {
			return true
		}
	}
	return false
}
