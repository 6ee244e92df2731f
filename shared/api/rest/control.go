package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// Execution control: a stage's inbound transition, retrying a stage of an
// execution, rolling a stage back to an earlier execution, and overriding a
// stage condition. The bodies carry the CodePipeline API's constraints
// (types.go's REST* bodies); what the pipeline and its executions allow is
// the service's to decide.

// restPathValues checks the path segments of a route against the API's
// shapes (segment name → shape), so that a malformed stage name or
// execution ID is named as such instead of being looked for.
func restPathValues(r *http.Request, shapes ...string) error {
	var problems []errs.Problem
	for i := 0; i+1 < len(shapes); i += 2 {
		if msg := apispec.MustLookup(shapes[i+1]).Check(r.PathValue(shapes[i])); msg != "" {
			problems = append(problems, errs.Problem{Path: shapes[i], Message: msg})
		}
	}
	if len(problems) > 0 {
		return errs.Invalid("invalid request path", problems)
	}
	return nil
}

// transitionType is the body's transition type, Inbound when left out.
func transitionType(t string) string {
	if t == "" {
		return service.TransitionInbound
	}
	return t
}

func (h *Handler) disableTransition(w http.ResponseWriter, r *http.Request) {
	var body RESTDisableTransition
	if err := restPathValues(r, "name", "PipelineName", "stage", "StageName"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.DisableStageTransition(r.Context(), r.PathValue("name"), r.PathValue("stage"), transitionType(body.TransitionType), body.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) enableTransition(w http.ResponseWriter, r *http.Request) {
	var body RESTEnableTransition
	if err := restPathValues(r, "name", "PipelineName", "stage", "StageName"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.EnableStageTransition(r.Context(), r.PathValue("name"), r.PathValue("stage"), transitionType(body.TransitionType)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) retryStage(w http.ResponseWriter, r *http.Request) {
	var body RESTRetryStage
	if err := restPathValues(r, "name", "PipelineName", "id", "PipelineExecutionId", "stage", "StageName"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	mode := body.RetryMode
	if mode == "" {
		mode = service.RetryFailedActions
	}
	id, err := h.svc.RetryStageExecution(r.Context(), r.PathValue("name"), r.PathValue("stage"), r.PathValue("id"), mode)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusAccepted, RESTExecutionID{PipelineExecutionID: id})
}

func (h *Handler) rollbackStage(w http.ResponseWriter, r *http.Request) {
	var body RESTRollbackStage
	if err := restPathValues(r, "name", "PipelineName", "stage", "StageName"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	id, err := h.svc.RollbackStage(r.Context(), name, r.PathValue("stage"), body.TargetPipelineExecutionID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/pipelines/"+EscapeSegment(name)+"/executions/"+EscapeSegment(id))
	restWriteJSON(w, http.StatusCreated, RESTExecutionID{PipelineExecutionID: id})
}

func (h *Handler) overrideCondition(w http.ResponseWriter, r *http.Request) {
	var body RESTOverrideCondition
	if err := restPathValues(r, "name", "PipelineName", "id", "PipelineExecutionId", "stage", "StageName"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.OverrideStageCondition(r.Context(), r.PathValue("name"), r.PathValue("stage"), r.PathValue("id"), body.ConditionType); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listRuleTypes lists the rule types of stage conditions (ListRuleTypes;
// ?owner= filters by owner).
func (h *Handler) listRuleTypes(w http.ResponseWriter, r *http.Request) {
	owner := r.URL.Query().Get("owner")
	if owner != "" {
		if msg := apispec.MustLookup("RuleOwner").Check(owner); msg != "" {
			h.fail(w, r, errs.Invalid("invalid query", []errs.Problem{{Path: "owner", Message: msg}}))
			return
		}
	}
	types, err := h.svc.ListRuleTypes(r.Context(), owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, map[string]any{"ruleTypes": types})
}

// listRuleExecutions lists the rule runs of a pipeline's stage conditions,
// newest first (ListRuleExecutions; ?executionId= narrows to one
// execution).
func (h *Handler) listRuleExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := restPathValues(r, "name", "PipelineName"); err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := restQueryInt(q, "maxResults", 1, 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := q.Get("executionId")
	if id != "" {
		if msg := apispec.MustLookup("PipelineExecutionId").Check(id); msg != "" {
			h.fail(w, r, errs.Invalid("invalid query", []errs.Problem{{Path: "executionId", Message: msg}}))
			return
		}
	}
	out, err := h.svc.ListRuleExecutions(r.Context(), r.PathValue("name"), id, int(n), q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}
