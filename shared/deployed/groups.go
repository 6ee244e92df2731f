package deployed

import "github.com/stageflow/stageflow/shared/auth"

// ConsoleGroup is a group of the console's user pool that infra makes,
// with the built-in policies its members get.
type ConsoleGroup struct {
	Name        string
	Description string
	Policies    []string // built-in policies' names (auth.Builtin)
}

// ConsoleGroups are the user pool's groups, one per role of the README's
// "Deployed access control". A member gets the policies of each of its
// groups, and those attached to the group's or its own principal ARN in the
// store (PutPrincipalPolicies: a Deny there narrows a built-in group).
var ConsoleGroups = []ConsoleGroup{
	{Name: "StageflowAdmins", Description: "Stageflow: everything (pipelines, keys, policies)",
		Policies: []string{auth.FullAccess, auth.StageflowFullAccess}},
	{Name: "StageflowDeployers", Description: "Stageflow: create, change, start and stop pipelines (AWSCodePipeline_FullAccess)",
		Policies: []string{auth.FullAccess}},
	{Name: "StageflowApprovers", Description: "Stageflow: read pipelines and approve or reject (AWSCodePipelineApproverAccess)",
		Policies: []string{auth.ApproverAccess}},
	{Name: "StageflowReadOnly", Description: "Stageflow: read pipelines and executions (AWSCodePipeline_ReadOnlyAccess)",
		Policies: []string{auth.ReadOnlyAccess}},
}

// groupPolicies returns the built-in policies of a console group (none for
// a group ConsoleGroups does not name).
func groupPolicies(name string) []*auth.Policy {
	for _, g := range ConsoleGroups {
		if g.Name != name {
			continue
		}
		out := make([]*auth.Policy, 0, len(g.Policies))
		for _, p := range g.Policies {
			if pol, ok := auth.Builtin(p); ok {
				out = append(out, pol)
			}
		}
		return out
	}
	return nil
}
