// Package commands runs CodePipeline's Commands action (Compute/AWS/Commands)
// on this machine, as a CodeBuild buildspec on the host shell (see package
// hostbuild): the action's `commands` make the BUILD phase; its
// `environmentVariables` are set; the variables named in `outputVariables`
// are exported as the action's output variables; each output artifact is
// made of its `files` patterns, relative to the primary source directory
// (the first input artifact). Variable references in the commands reach the
// shell as data, never as shell text (see package shellref).
package commands

import (
	"context"
	"maps"
	"slices"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/buildspec"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/actions/shellref"
	"github.com/stageflow/stageflow/shared/engine"
)

// Provider runs Commands actions locally. Its Host sets the builds'
// environment; a build that was running when the process stopped is gone
// (Host.Resumable).
type Provider struct{ hostbuild.Host }

var _ actions.Provider = (*Provider)(nil)

// Run runs the action to its end.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	return p.Host.Run(ctx, job, "", func(hostbuild.Sources) (*hostbuild.Build, error) { return prepare(job) })
}

func prepare(job *actions.Job) (*hostbuild.Build, error) {
	run := job.Run
	if len(run.Commands) == 0 {
		return nil, hostbuild.ConfigErrorf("the Commands action has no commands")
	}
	// The commands are as written: their references become environment
	// variables, read in place as data (the build runs on /bin/sh).
	rw := shellref.NewRewriter("", run.References)
	cmds := make([]string, len(run.Commands))
	for i, c := range run.Commands {
		out, err := rw.Rewrite(c)
		if err != nil {
			return nil, hostbuild.ConfigErrorf("commands[%d]: %v", i, err)
		}
		cmds[i] = out
	}
	spec := buildspec.FromCommands(cmds)
	// Secret variables hold a reference (resolved like any value), read
	// from the secret store when the build starts.
	secret := map[string]bool{}
	var secretEnv []buildspec.SecretVar
	for _, ev := range job.Action.EnvironmentVariables {
		sv, err := hostbuild.SecretVar("environment variable", ev.Name, run.EnvironmentVariables[ev.Name], ev.Type)
		if err != nil {
			return nil, err
		}
		if sv != nil {
			secret[ev.Name] = true
			secretEnv = append(secretEnv, *sv)
		}
	}
	env := []string{}
	for _, k := range slices.Sorted(maps.Keys(run.EnvironmentVariables)) {
		if !secret[k] {
			env = append(env, k+"="+run.EnvironmentVariables[k])
		}
	}
	env = append(env, rw.Env()...)
	spec.Env.ExportedVariables = append([]string(nil), job.Action.OutputVariables...)
	artifact := func(_ int, name string) (buildspec.ArtifactSpec, error) {
		files := outputFiles(job, name)
		if len(files) == 0 {
			return buildspec.ArtifactSpec{}, hostbuild.ConfigErrorf("output artifact %q lists no files", name)
		}
		return buildspec.ArtifactSpec{Files: files}, nil
	}
	return &hostbuild.Build{Spec: spec, Env: env, SecretEnv: secretEnv, Artifact: artifact}, nil
}

func outputFiles(job *actions.Job, name string) []string {
	for _, o := range job.Action.OutputArtifacts {
		if o.Name == name {
			return o.Files
		}
	}
	return nil
}
