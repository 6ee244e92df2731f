package buildspec

import (
	"bytes"
	"cmp"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/stageflow/stageflow/shared/errs"
)

// Secrets resolves secret references: the values of env.secrets-manager
// (and SECRETS_MANAGER variables), name[:json-key], and of
// env.parameter-store (and PARAMETER_STORE variables), a parameter name.
// Package secrets is the local implementation.
type Secrets interface {
	SecretsManager(ref string) (string, error)
	Parameter(name string) (string, error)
}

// The types of a SecretVar, as CodeBuild's environment variables name them.
const (
	TypeSecretsManager = "SECRETS_MANAGER"
	TypeParameterStore = "PARAMETER_STORE"
)

// SecretVar is an environment variable of the action whose value is a
// secret reference, resolved when the build starts.
type SecretVar struct {
	Name string
	Type string // TypeSecretsManager or TypeParameterStore
	Ref  string
}

// resolved are a build's secret variables with their values.
type resolved struct {
	spec, action [][2]string // env.parameter-store and env.secrets-manager; Run.SecretEnv
	values       []string
}

// resolveSecrets looks up every secret the build uses. An error names the
// variable and the secret, never a value.
func (r *Run) resolveSecrets() (*resolved, error) {
	env := r.Spec.Env
	var wanted []SecretVar
	for _, k := range slices.Sorted(maps.Keys(env.ParameterStore)) {
		wanted = append(wanted, SecretVar{Name: k, Type: TypeParameterStore, Ref: env.ParameterStore[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(env.SecretsManager)) {
		wanted = append(wanted, SecretVar{Name: k, Type: TypeSecretsManager, Ref: env.SecretsManager[k]})
	}
	fromSpec := len(wanted)
	wanted = append(wanted, r.SecretEnv...)
	res := &resolved{}
	for i, sv := range wanted {
		where := "environment variable " + sv.Name
		if i < fromSpec {
			where = "env." + strings.ToLower(strings.ReplaceAll(sv.Type, "_", "-")) + "." + sv.Name
		}
		if !identRE.MatchString(sv.Name) {
			return nil, errs.New(errs.Validation, "%s: not a valid variable name", where)
		}
		if r.Secrets == nil {
			return nil, errs.New(errs.Unsupported, "%s: no secret store to read %s from", where, sv.Ref)
		}
		var v string
		var err error
		switch sv.Type {
		case TypeSecretsManager:
			v, err = r.Secrets.SecretsManager(sv.Ref)
		case TypeParameterStore:
			v, err = r.Secrets.Parameter(sv.Ref)
		default:
			err = errs.New(errs.Validation, "unknown secret type %q", sv.Type)
		}
		if err != nil {
			return nil, errs.New(errs.Validation, "%s: %v", where, err)
		}
		if i < fromSpec {
			res.spec = append(res.spec, [2]string{sv.Name, v})
		} else {
			res.action = append(res.action, [2]string{sv.Name, v})
		}
		res.values = append(res.values, v)
	}
	return res, nil
}

// MinMasked is the length from which a secret value is masked in the log;
// shorter ones would mask common words.
const MinMasked = 4

// maxPending bounds what the masking writer holds back waiting for the end
// of a line.
const maxPending = 64 << 10

// maskWriter replaces secret values with *** in what it passes on. It
// holds output back to the end of the line (up to maxPending bytes), so a
// value that arrives in pieces is still masked; a multi-line value is also
// masked line by line. Flush passes on the rest.
type maskWriter struct {
	mu      sync.Mutex
	w       io.Writer
	r       *strings.Replacer
	pending []byte
}

// maskLog wraps w to mask values; without any value of MinMasked bytes or
// more, it returns w and a no-op flush.
func maskLog(w io.Writer, values []string) (io.Writer, func()) {
	var masked []string
	for _, v := range values {
		masked = append(masked, v)
		if strings.Contains(v, "\n") {
			masked = append(masked, strings.Split(v, "\n")...)
		}
	}
	masked = slices.DeleteFunc(masked, func(v string) bool { return len(v) < MinMasked })
	if len(masked) == 0 {
		return w, func() {}
	}
	// Longer values first, so that a value containing another is masked
	// whole.
	slices.SortFunc(masked, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	masked = slices.Compact(masked)
	pairs := make([]string, 0, 2*len(masked))
	for _, v := range masked {
		pairs = append(pairs, v, "***")
	}
	m := &maskWriter{w: w, r: strings.NewReplacer(pairs...)}
	return m, m.flush
}

func (m *maskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, p...)
	cut := bytes.LastIndexByte(m.pending, '\n') + 1
	if len(m.pending)-cut > maxPending {
		cut = len(m.pending)
	}
	if cut == 0 {
		return len(p), nil
	}
	_, err := io.WriteString(m.w, m.r.Replace(string(m.pending[:cut])))
	m.pending = append(m.pending[:0], m.pending[cut:]...)
	return len(p), err
}

func (m *maskWriter) flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) > 0 {
		io.WriteString(m.w, m.r.Replace(string(m.pending)))
		m.pending = nil
	}
}
