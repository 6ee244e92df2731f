package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// Executions, action executions and approvals of a pipeline.

func (h *Handler) startExecution(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body RESTStartExecution
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	var revs []engine.SourceRevision
	for _, sr := range body.SourceRevisions {
		revs = append(revs, engine.SourceRevision{Action: sr.ActionName, Type: sr.RevisionType, Value: sr.RevisionValue})
	}
	e, err := h.svc.StartExecution(r.Context(), service.StartInput{
		PipelineName: name, Variables: body.Variables, ClientRequestToken: body.ClientRequestToken, SourceRevisions: revs,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := e.ID
	w.Header().Set("Location", "/v1/pipelines/"+EscapeSegment(name)+"/executions/"+EscapeSegment(id))
	restWriteJSON(w, http.StatusCreated, RESTExecutionID{PipelineExecutionID: id})
}

func (h *Handler) listExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, n, err := restListQuery(q, restExecutionStatuses)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lane, err := restQueryLane(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ListExecutionsIn(r.Context(), service.ListExecutionsQuery{
		PipelineName: r.PathValue("name"), Status: status, Lane: lane, MaxResults: n, NextToken: q.Get("nextToken"),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getExecution(w http.ResponseWriter, r *http.Request) {
	e, err := h.svc.Execution(r.Context(), r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, e)
}

func (h *Handler) stopExecution(w http.ResponseWriter, r *http.Request) {
	var body RESTStopExecution
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := h.svc.StopExecution(r.Context(), r.PathValue("name"), id, body.Abandon, body.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusAccepted, RESTExecutionID{PipelineExecutionID: id})
}

func (h *Handler) listActionExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, n, err := restListQuery(q, restActionStatuses)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := service.ActionExecutionFilter{PipelineExecutionID: q.Get("executionId"), Stage: q.Get("stage"), Action: q.Get("action"), Status: status}
	out, err := h.svc.ListActionExecutions(r.Context(), r.PathValue("name"), f, n, q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) putApproval(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	var body RESTApproval
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	at, err := h.svc.PutApprovalResult(ctx, service.ApprovalInput{
		PipelineName: name, Stage: body.Stage, Action: body.Action, Token: body.Token, ExecutionID: body.ExecutionID,
		Status: body.Status, Summary: body.Summary,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTApprovalResult{ApprovedAt: service.TimestampOf(at)})
}
