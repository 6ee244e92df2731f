// Package buildspec reads CodeBuild buildspec files (version 0.2) and runs
// them on the host with a POSIX shell, the way CodeBuild runs them in its
// build container: every command of every phase runs in one shell session,
// so a `cd` or an `export` carries over to the commands and phases after it.
//
// Only version 0.2 is supported. Version 0.1, which ran each command in a
// shell of its own, is refused by Parse.
package buildspec

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stageflow/stageflow/shared/errs"
)

// Phase names, as CodeBuild reports them, in run order.
const (
	PhaseInstall   = "INSTALL"
	PhasePreBuild  = "PRE_BUILD"
	PhaseBuild     = "BUILD"
	PhasePostBuild = "POST_BUILD"
)

// On-failure actions of a phase.
const (
	// OnFailureDefault (the key is absent) follows CodeBuild's phase
	// transitions: a failed INSTALL or PRE_BUILD ends the build, a failed
	// BUILD goes on to POST_BUILD.
	OnFailureDefault = ""
	// OnFailureAbort ends the build at the failed phase; no later phase runs,
	// POST_BUILD included.
	OnFailureAbort = "ABORT"
	// OnFailureContinue goes on to the next phase. The build still fails.
	OnFailureContinue = "CONTINUE"
)

// phaseKeys maps the buildspec keys to phase names, in run order.
var phaseKeys = []struct{ key, name string }{
	{"install", PhaseInstall},
	{"pre_build", PhasePreBuild},
	{"build", PhaseBuild},
	{"post_build", PhasePostBuild},
}

// Spec is a parsed buildspec.
type Spec struct {
	Version string
	Env     Env
	// Phases lists the phases the buildspec declares, in run order.
	Phases []Phase
	// Artifacts is nil when the buildspec has no artifacts section.
	Artifacts *Artifacts
	// Ignored lists the keys that were accepted but have no effect here
	// (run-as, runtime-versions, cache, reports, ...), by path, so the caller
	// can mention them in the build log.
	Ignored []string
}

// Env is the env section.
type Env struct {
	// Shell is "" (meaning /bin/sh), "sh", "/bin/sh", "bash" or "/bin/bash".
	Shell string
	// Variables are plain-text variables. Values reach the commands through
	// the environment, never through the script text.
	Variables map[string]string
	// ExportedVariables name the variables whose final values the build
	// reports (Result.Exported).
	ExportedVariables []string
	// ParameterStore (VAR: parameter name) and SecretsManager (VAR:
	// name[:json-key]) are resolved by Run.Secrets when the build starts.
	ParameterStore map[string]string
	SecretsManager map[string]string
}

// Phase is one build phase.
type Phase struct {
	Name      string // PhaseInstall, PhasePreBuild, PhaseBuild or PhasePostBuild
	OnFailure string // OnFailureDefault, OnFailureAbort or OnFailureContinue
	Commands  []string
	Finally   []string
}

// Artifacts is the artifacts section: the primary artifact and the
// secondary ones by identifier.
type Artifacts struct {
	ArtifactSpec
	Secondary map[string]ArtifactSpec
}

// ArtifactSpec says which files make an artifact.
type ArtifactSpec struct {
	// Files are slash-separated glob patterns relative to the base
	// directory: "*", "?" and "[...]" match within one path component, "**"
	// matches any number of components ("**/*", "dist/**/*"). A plain path
	// naming a directory takes everything under it; "dist/*" takes only the
	// files directly in dist.
	Files []string
	// Name is the artifact name the buildspec asks for (informational).
	Name string
	// BaseDirectory, if set, is the directory (relative to the source
	// directory) the patterns are relative to; its own path is not part of
	// the artifact. It may be a pattern matching several top-level
	// directories ("build-*"), whose contents are merged.
	BaseDirectory string
	// DiscardPaths stores every file at the top of the artifact.
	DiscardPaths bool
	// ExcludePaths are patterns (same syntax as Files) of files to leave out.
	ExcludePaths []string

	field string // the buildspec path, for messages
}

// HasPrimary reports whether the primary artifact lists files; a buildspec
// may declare secondary artifacts only.
func (a *Artifacts) HasPrimary() bool { return a != nil && len(a.Files) > 0 }

// Phase returns the phase of that name, or nil.
func (s *Spec) Phase(name string) *Phase {
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	return nil
}

// FromCommands makes the buildspec a CodePipeline Commands action runs: its
// commands make the BUILD phase.
func FromCommands(commands []string) *Spec {
	return &Spec{
		Version: "0.2",
		Phases:  []Phase{{Name: PhaseBuild, Commands: append([]string(nil), commands...)}},
	}
}

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Parse reads a buildspec. Every problem found is reported, each with the
// path of the field at fault, in one Validation error.
func Parse(data []byte) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errs.Invalid("invalid buildspec", []errs.Problem{{Message: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}})
	}
	p := &parser{}
	s := &Spec{}
	if len(doc.Content) == 0 {
		p.add("", "the buildspec is empty")
		return nil, p.err()
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		p.add("", "the buildspec must be a mapping of keys (version, phases, ...), not "+kindName(top))
		return nil, p.err()
	}
	p.mapping(top, "", func(key string, v *yaml.Node, at string) {
		switch key {
		case "version":
			s.Version, _ = p.scalar(v, at)
		case "env":
			p.env(v, at, &s.Env)
		case "phases":
			p.phases(v, at, s)
		case "artifacts":
			a := &Artifacts{}
			p.artifacts(v, at, a)
			s.Artifacts = a
		case "run-as", "proxy", "batch", "reports", "cache":
			p.ignored = append(p.ignored, at)
		default:
			p.add(at, "unknown key")
		}
	})
	switch s.Version {
	case "":
		if !p.has("version") {
			p.add("version", "required; Stageflow runs buildspec version 0.2")
		}
	case "0.2":
	case "0.1":
		p.add("version", "buildspec version 0.1 is not supported; use version 0.2 (all commands then run in one shell session)")
	default:
		p.add("version", fmt.Sprintf("unsupported buildspec version %q; Stageflow runs version 0.2", s.Version))
	}
	if !p.has("phases") {
		p.add("phases", "required")
	}
	s.Ignored = p.ignored
	p.problems = append(p.problems, s.check()...)
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks a Spec built in code (Parse already did): known phase
// names in order, on-failure values, shell, variable names.
func (s *Spec) Validate() error {
	if probs := s.check(); len(probs) > 0 {
		return errs.Invalid("invalid buildspec", probs)
	}
	return nil
}

func (s *Spec) check() []errs.Problem {
	var probs []errs.Problem
	add := func(at, msg string) { probs = append(probs, errs.Problem{Path: at, Message: msg}) }
	switch s.Env.Shell {
	case "", "sh", "/bin/sh", "bash", "/bin/bash":
	default:
		add("env.shell", fmt.Sprintf("unsupported shell %q; use bash or /bin/sh", s.Env.Shell))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Env.Variables)) {
		if !identRE.MatchString(name) {
			add("env.variables."+name, "not a valid variable name (letters, digits and _, not starting with a digit)")
		}
	}
	for i, name := range s.Env.ExportedVariables {
		at := fmt.Sprintf("env.exported-variables[%d]", i)
		switch {
		case !identRE.MatchString(name):
			add(at, fmt.Sprintf("%q is not a valid variable name", name))
		case strings.HasPrefix(name, "AWS_"):
			add(at, fmt.Sprintf("%q cannot be exported: names starting with AWS_ are not exported", name))
		}
	}
	last := -1
	for _, ph := range s.Phases {
		idx := -1
		for i, k := range phaseKeys {
			if k.name == ph.Name {
				idx = i
			}
		}
		if idx < 0 {
			add("phases", fmt.Sprintf("unknown phase %q", ph.Name))
			continue
		}
		at := "phases." + phaseKeys[idx].key
		if idx <= last {
			add(at, "phase listed twice or out of order")
		}
		last = idx
		for i, c := range ph.Commands {
			if strings.ContainsRune(c, 0) {
				add(fmt.Sprintf("%s.commands[%d]", at, i), "contains a NUL character")
			}
		}
		for i, c := range ph.Finally {
			if strings.ContainsRune(c, 0) {
				add(fmt.Sprintf("%s.finally[%d]", at, i), "contains a NUL character")
			}
		}
		switch ph.OnFailure {
		case OnFailureDefault, OnFailureAbort, OnFailureContinue:
		default:
			add(at+".on-failure", fmt.Sprintf("must be ABORT or CONTINUE, not %q", ph.OnFailure))
		}
	}
	if a := s.Artifacts; a != nil {
		probs = append(probs, a.ArtifactSpec.check("artifacts", len(a.Secondary) == 0)...)
		for _, id := range slices.Sorted(maps.Keys(a.Secondary)) {
			at := "artifacts.secondary-artifacts." + id
			if id == "" {
				add("artifacts.secondary-artifacts", "empty artifact identifier")
			}
			probs = append(probs, a.Secondary[id].check(at, true)...)
		}
	}
	return probs
}

func (a ArtifactSpec) check(at string, needFiles bool) []errs.Problem {
	var probs []errs.Problem
	if needFiles && len(a.Files) == 0 {
		probs = append(probs, errs.Problem{Path: at + ".files", Message: "required: list the files of the artifact, e.g. '**/*'"})
	}
	for i, f := range a.Files {
		if msg := checkPattern(f); msg != "" {
			probs = append(probs, errs.Problem{Path: fmt.Sprintf("%s.files[%d]", at, i), Message: msg})
		}
	}
	for i, f := range a.ExcludePaths {
		if msg := checkPattern(f); msg != "" {
			probs = append(probs, errs.Problem{Path: fmt.Sprintf("%s.exclude-paths[%d]", at, i), Message: msg})
		}
	}
	if a.BaseDirectory != "" {
		if msg := checkPattern(a.BaseDirectory); msg != "" {
			probs = append(probs, errs.Problem{Path: at + ".base-directory", Message: msg})
		}
	}
	return probs
}

// checkPattern returns why a file pattern is unusable, or "".
func checkPattern(p string) string {
	if strings.TrimSpace(p) == "" {
		return "empty path"
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q: must be relative to the source directory", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Sprintf("%q: must not leave the source directory (..)", p)
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Sprintf("%q: malformed pattern", p)
		}
	}
	return ""
}

// parser walks the YAML tree, collecting problems.
type parser struct {
	problems []errs.Problem
	ignored  []string
	seenTop  map[string]bool
}

func (p *parser) add(at, msg string) {
	p.problems = append(p.problems, errs.Problem{Path: at, Message: msg})
}

func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return errs.Invalid("invalid buildspec", p.problems)
}

func (p *parser) has(key string) bool { return p.seenTop[key] }

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a scalar"
}

// mapping calls fn for each key of a mapping node, refusing duplicates.
func (p *parser) mapping(n *yaml.Node, at string, fn func(key string, v *yaml.Node, at string)) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.add(at, "must be a mapping, not "+kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(at, "keys must be plain names")
			continue
		}
		if k.Value == "<<" {
			p.add(join(at, k.Value), "YAML merge keys are not supported")
			continue
		}
		if seen[k.Value] {
			p.add(join(at, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		if at == "" {
			if p.seenTop == nil {
				p.seenTop = map[string]bool{}
			}
			p.seenTop[k.Value] = true
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		fn(k.Value, v, join(at, k.Value))
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalar returns a scalar's text. Numbers and booleans are taken as written.
func (p *parser) scalar(n *yaml.Node, at string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.add(at, "must be a single value, not "+kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

// list reads a list of scalars; a single scalar counts as a list of one.
// hint is added to the message for an item that is not a scalar.
func (p *parser) list(n *yaml.Node, at, hint string) []string {
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.add(at, "must be a list, not "+kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		iat := fmt.Sprintf("%s[%d]", at, i)
		if item.Kind != yaml.ScalarNode {
			p.add(iat, "must be a string, not "+kindName(item)+hint)
			continue
		}
		if isNull(item) {
			p.add(iat, "empty entry")
			continue
		}
		out = append(out, item.Value)
	}
	return out
}

// strMap reads a mapping of names to scalar values.
func (p *parser) strMap(n *yaml.Node, at string) map[string]string {
	m := map[string]string{}
	p.mapping(n, at, func(key string, v *yaml.Node, vat string) {
		if s, ok := p.scalar(v, vat); ok {
			m[key] = s
		}
	})
	return m
}

func (p *parser) yesNo(n *yaml.Node, at string) bool {
	s, ok := p.scalar(n, at)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true
	case "no", "false", "off", "":
		return false
	}
	p.add(at, fmt.Sprintf("must be yes or no, not %q", s))
	return false
}

func (p *parser) env(n *yaml.Node, at string, e *Env) {
	p.mapping(n, at, func(key string, v *yaml.Node, kat string) {
		switch key {
		case "shell":
			e.Shell, _ = p.scalar(v, kat)
		case "variables":
			e.Variables = p.strMap(v, kat)
		case "parameter-store":
			e.ParameterStore = p.strMap(v, kat)
		case "secrets-manager":
			e.SecretsManager = p.strMap(v, kat)
		case "exported-variables":
			e.ExportedVariables = p.list(v, kat, "")
		case "git-credential-helper":
			p.ignored = append(p.ignored, kat)
		default:
			p.add(kat, "unknown key")
		}
	})
}

func (p *parser) phases(n *yaml.Node, at string, s *Spec) {
	found := map[string]Phase{}
	p.mapping(n, at, func(key string, v *yaml.Node, kat string) {
		name := ""
		for _, k := range phaseKeys {
			if k.key == key {
				name = k.name
			}
		}
		if name == "" {
			p.add(kat, "unknown phase; phases are install, pre_build, build and post_build")
			return
		}
		ph := Phase{Name: name}
		p.mapping(v, kat, func(pkey string, pv *yaml.Node, pat string) {
			switch pkey {
			case "commands":
				ph.Commands = p.list(pv, pat, ` (quote a command that contains ": ")`)
			case "finally":
				ph.Finally = p.list(pv, pat, ` (quote a command that contains ": ")`)
			case "on-failure":
				if s, ok := p.scalar(pv, pat); ok {
					ph.OnFailure = s
					if u := strings.ToUpper(s); u == OnFailureAbort || u == OnFailureContinue {
						ph.OnFailure = u
					}
				}
			case "run-as":
				p.ignored = append(p.ignored, pat)
			case "runtime-versions":
				if name != PhaseInstall {
					p.add(pat, "allowed in the install phase only")
					return
				}
				p.ignored = append(p.ignored, pat)
			default:
				p.add(pat, "unknown key")
			}
		})
		found[name] = ph
	})
	for _, k := range phaseKeys {
		if ph, ok := found[k.name]; ok {
			s.Phases = append(s.Phases, ph)
		}
	}
}

func (p *parser) artifacts(n *yaml.Node, at string, a *Artifacts) {
	p.artifactSpec(n, at, &a.ArtifactSpec, func(key string, v *yaml.Node, kat string) bool {
		if key != "secondary-artifacts" {
			return false
		}
		a.Secondary = map[string]ArtifactSpec{}
		p.mapping(v, kat, func(id string, sv *yaml.Node, sat string) {
			var sec ArtifactSpec
			p.artifactSpec(sv, sat, &sec, nil)
			a.Secondary[id] = sec
		})
		return true
	})
}

func (p *parser) artifactSpec(n *yaml.Node, at string, a *ArtifactSpec, extra func(string, *yaml.Node, string) bool) {
	a.field = at
	p.mapping(n, at, func(key string, v *yaml.Node, kat string) {
		switch key {
		case "files":
			a.Files = p.list(v, kat, "")
		case "name":
			a.Name, _ = p.scalar(v, kat)
		case "base-directory":
			a.BaseDirectory, _ = p.scalar(v, kat)
		case "discard-paths":
			a.DiscardPaths = p.yesNo(v, kat)
		case "exclude-paths":
			a.ExcludePaths = p.list(v, kat, "")
		case "enable-symlinks", "s3-prefix":
			p.ignored = append(p.ignored, kat)
		default:
			if extra == nil || !extra(key, v, kat) {
				p.add(kat, "unknown key")
			}
		}
	})
}
