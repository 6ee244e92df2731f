package restclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/rest/restclient"
)

// TestControl: each execution-control method reaches its route with its
// body (the service answers, in its own words, until the engine is wired:
// any answer but a refusal of the request itself), and a body the route
// refuses comes back as an *Error with its problems.
func TestControl(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	if _, err := c.CreatePipeline(ctx, commandsPipeline("ctl", "true")); err != nil {
		t.Fatal(err)
	}
	id, err := c.StartExecution(ctx, "ctl", rest.RESTStartExecution{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "ctl", id, "the execution to end", terminal)

	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"DisableTransition", func(ctx context.Context) error {
			return c.DisableTransition(ctx, "ctl", "Build", rest.RESTDisableTransition{Reason: "Frozen for the release"})
		}},
		{"EnableTransition", func(ctx context.Context) error {
			return c.EnableTransition(ctx, "ctl", "Build", rest.RESTEnableTransition{})
		}},
		{"RetryStage", func(ctx context.Context) error {
			got, err := c.RetryStage(ctx, "ctl", id, "Build", rest.RESTRetryStage{RetryMode: "ALL_ACTIONS"})
			if err == nil && got != id {
				t.Errorf("RetryStage answered %q, want %q", got, id)
			}
			return err
		}},
		{"RollbackStage", func(ctx context.Context) error {
			got, err := c.RollbackStage(ctx, "ctl", "Build", rest.RESTRollbackStage{TargetPipelineExecutionID: id})
			if err == nil && got == "" {
				t.Errorf("RollbackStage answered no execution")
			}
			return err
		}},
		{"OverrideCondition", func(ctx context.Context) error {
			return c.OverrideCondition(ctx, "ctl", id, "Build", rest.RESTOverrideCondition{ConditionType: "ON_SUCCESS"})
		}},
	}
	for _, cl := range calls {
		err := cl.call(ctx)
		if err == nil {
			continue
		}
		var ae *restclient.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s: %v (%T), want an answer of the server", cl.name, err, err)
			continue
		}
		switch ae.Code {
		case "ValidationException", "AccessDeniedException", "UnknownOperationException", "MethodNotAllowedException", "":
			t.Errorf("%s: the request did not reach the service: %v", cl.name, err)
		default:
			t.Logf("%s reached the service: %v", cl.name, err)
		}
	}

	// A stage name and an execution ID that are not CodePipeline's are
	// refused with the path segment named, whatever they hold.
	err = c.OverrideCondition(ctx, "ctl", "../../keys", "Build/../x", rest.RESTOverrideCondition{ConditionType: "BEFORE_ENTRY"})
	var ae *restclient.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "ValidationException" || len(ae.Problems) != 2 ||
		ae.Problems[0].Path != "id" || ae.Problems[1].Path != "stage" {
		t.Errorf("OverrideCondition with a hostile ID and stage: %v, want ValidationException at id and stage", err)
	}
	err = c.DisableTransition(ctx, "ctl", "Build", rest.RESTDisableTransition{Reason: "no; way"})
	if !errors.As(err, &ae) || ae.Code != "ValidationException" || !strings.Contains(err.Error(), "reason: ") {
		t.Errorf("DisableTransition with a semicolon: %v, want ValidationException at reason", err)
	}
}
