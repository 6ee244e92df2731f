package actions_test

import (
	"testing"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

var codeDeployTyp = pipeline.ActionTypeID{Category: pipeline.CategoryDeploy, Owner: pipeline.OwnerAWS, Provider: "CodeDeploy", Version: "1"}

func TestUnsupported(t *testing.T) {
	actiontest.RunCases(t, func() actions.Provider { return actions.Unsupported{} }, []actiontest.Case{
		// Types that need AWS.
		{
			Name:     "unsupported: CodeDeploy",
			Provider: actions.Unsupported{},
			Action:   pipeline.Action{Name: "Deploy", ActionTypeID: codeDeployTyp, Configuration: map[string]string{"ApplicationName": "app"}},
			Want:     engine.Failed,
			Code:     engine.CodeConfigurationError,
			Msg:      []string{"CodeDeploy", "runs only when Stageflow is deployed to AWS"},
		},
	})
}
