// Package codebuild runs the CodeBuild action (Build or Test/AWS/CodeBuild)
// on this machine, on the host shell (see package hostbuild): the buildspec
// is the BuildspecOverride configuration (inline YAML, or a path inside the
// primary source) or buildspec.yml of the primary source; the
// EnvironmentVariables configuration (a JSON list of {name, value, type};
// SECRETS_MANAGER and PARAMETER_STORE values resolve from the local secret
// store, see hostbuild.Host.Secrets) is set; env.exported-variables become output
// variables; the first output artifact is the buildspec's primary artifact
// and the others are its secondary-artifacts by identifier. The first input
// artifact, or the one PrimarySource names, is the primary source.
package codebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/buildspec"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/engine"
)

// Configuration keys of the CodeBuild action.
const (
	ConfigBuildspecOverride    = "BuildspecOverride"
	ConfigEnvironmentVariables = "EnvironmentVariables"
	ConfigPrimarySource        = "PrimarySource"
)

// Provider runs CodeBuild actions locally. Its Host sets the builds'
// environment; a build that was running when the process stopped is gone
// (Host.Resumable).
type Provider struct{ hostbuild.Host }

var _ actions.Provider = (*Provider)(nil)

// Run runs the action to its end.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	return p.Host.Run(ctx, job, job.Run.Configuration[ConfigPrimarySource], func(src hostbuild.Sources) (*hostbuild.Build, error) {
		return prepare(job, src)
	})
}

func prepare(job *actions.Job, src hostbuild.Sources) (*hostbuild.Build, error) {
	cfg := job.Run.Configuration
	var spec *buildspec.Spec
	var refEnv []string
	var err error
	// An inline buildspec is read as written, not with the values pasted
	// in by the engine's resolution (see inlineOverride).
	if raw := job.Action.Configuration[ConfigBuildspecOverride]; inlineBuildspec(raw) {
		spec, refEnv, err = inlineOverride(raw, job.Run.References)
	} else {
		spec, err = loadBuildspec(cfg[ConfigBuildspecOverride], src.Primary)
	}
	if err != nil {
		return nil, err
	}
	env, secretEnv, err := environment(cfg[ConfigEnvironmentVariables])
	if err != nil {
		return nil, err
	}
	env = append(env, refEnv...)
	artifact := func(i int, name string) (buildspec.ArtifactSpec, error) {
		if i == 0 && spec.Artifacts.HasPrimary() {
			return spec.Artifacts.ArtifactSpec, nil
		}
		if spec.Artifacts != nil {
			if sec, ok := spec.Artifacts.Secondary[name]; ok {
				return sec, nil
			}
		}
		return buildspec.ArtifactSpec{}, hostbuild.ConfigErrorf("output artifact %q: the buildspec has no artifacts for it (the first output artifact takes artifacts.files, the others secondary-artifacts.%s)", name, name)
	}
	return &hostbuild.Build{Spec: spec, Env: env, SecretEnv: secretEnv, Artifact: artifact}, nil
}

// loadBuildspec reads the buildspec file: the path BuildspecOverride names
// in the source (references there are only text of the path), else
// buildspec.yml there. The file itself is read as it is.
func loadBuildspec(override, srcDir string) (*buildspec.Spec, error) {
	rel := override
	if rel == "" {
		rel = "buildspec.yml"
	}
	if !filepath.IsLocal(rel) {
		return nil, hostbuild.ConfigErrorf("buildspec path %q must stay inside the source", rel)
	}
	data, err := os.ReadFile(filepath.Join(srcDir, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hostbuild.ConfigErrorf("no buildspec: the primary source has no %s (set BuildspecOverride to inline YAML or another path)", rel)
	}
	if err != nil {
		return nil, err
	}
	spec, err := buildspec.Parse(data)
	if err != nil {
		return nil, hostbuild.ConfigErrorf("%s: %v", rel, err)
	}
	return spec, nil
}

// inlineRE matches the start of a one-line inline buildspec: a "version"
// key, or a YAML flow mapping.
var inlineRE = regexp.MustCompile(`^(version\s*:|\{)`)

// inlineBuildspec tells an inline buildspec from a path: YAML text has
// several lines or starts with the version key (or "{"); a path such as
// "version.yml" or "versions/buildspec.yml" is not inline.
func inlineBuildspec(override string) bool {
	return strings.Contains(override, "\n") || inlineRE.MatchString(strings.TrimSpace(override))
}

// environment decodes the EnvironmentVariables configuration: the
// PLAINTEXT variables as NAME=value, the SECRETS_MANAGER and
// PARAMETER_STORE ones as secret references.
func environment(cfg string) ([]string, []buildspec.SecretVar, error) {
	if cfg == "" {
		return nil, nil, nil
	}
	var vars []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	if err := json.Unmarshal([]byte(cfg), &vars); err != nil {
		return nil, nil, hostbuild.ConfigErrorf("configuration.EnvironmentVariables must be a JSON list of {\"name\", \"value\", \"type\"}: %v", err)
	}
	var out []string
	var secrets []buildspec.SecretVar
	for i, v := range vars {
		if v.Name == "" {
			return nil, nil, hostbuild.ConfigErrorf("configuration.EnvironmentVariables[%d]: name is required", i)
		}
		sv, err := hostbuild.SecretVar(fmt.Sprintf("configuration.EnvironmentVariables[%d]", i), v.Name, v.Value, v.Type)
		if err != nil {
			return nil, nil, err
		}
		if sv != nil {
			secrets = append(secrets, *sv)
			continue
		}
		out = append(out, v.Name+"="+v.Value)
	}
	return out, secrets, nil
}
