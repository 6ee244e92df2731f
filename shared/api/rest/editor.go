package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// What the console's pipeline editor asks besides the pipelines' routes.
//
//	POST /v1/validate        (body: a pipeline document, as POST /v1/pipelines takes): 200 {"valid": true}, or the 400 of a create
//	GET  /v1/action-types?owner=   ListActionTypes: {"actionTypes": [...]}

// RESTValidation is the answer of POST /v1/validate for a valid document.
type RESTValidation struct {
	Valid bool `json:"valid"`
}

// validatePipeline checks a pipeline document as a create would, without
// saving it: every problem at its JSON path relative to the pipeline
// (stages[0].actions[1].commands, whether the document is the bare
// pipeline or the {pipeline, ...} envelope). It
// asks the authorizer about the document's pipeline
// (service.AuthorizeValidation) once the document parses.
func (h *Handler) validatePipeline(w http.ResponseWriter, r *http.Request) {
	data, err := restReadBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doc, loadErr := pipeline.Load(data)
	if doc == nil {
		h.fail(w, r, loadErr)
		return
	}
	if err := h.svc.AuthorizeValidation(r.Context(), doc.Pipeline.Name, doc.Tags); err != nil {
		h.fail(w, r, err)
		return
	}
	if loadErr != nil {
		if e, ok := errs.As(loadErr); ok && e.Code == errs.Validation {
			c := *e
			c.Kind = errs.KindStructure
			loadErr = &c
		}
		h.fail(w, r, loadErr)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTValidation{Valid: true})
}

// listActionTypes lists the action types, built-in and custom
// (ListActionTypes; ?owner= filters by owner: AWS or Custom).
func (h *Handler) listActionTypes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q["owner"]) > 1 {
		h.fail(w, r, restInvalid("owner", "is given %d times; give it at most once", len(q["owner"])))
		return
	}
	owner := q.Get("owner")
	if owner != "" {
		if msg := apispec.MustLookup("ActionOwner").Check(owner); msg != "" {
			h.fail(w, r, errs.Invalid("invalid query", []errs.Problem{{Path: "owner", Message: msg}}))
			return
		}
	}
	types, err := h.svc.ListActionTypes(r.Context(), owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, map[string]any{"actionTypes": types})
}
