package rest

import (
	"net/http"
	"net/url"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Pipelines: create, list, get, update, delete and state.

// restLoadPipeline reads a pipeline document with pipeline.Load. A document
// that parses as an object but breaks the shape or the rules is an
// InvalidStructureException; malformed JSON a ValidationException.
func (h *Handler) loadPipeline(w http.ResponseWriter, r *http.Request) (*pipeline.Document, error) {
	data, err := restReadBody(w, r)
	if err != nil {
		return nil, err
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		if e, ok := errs.As(err); ok && doc != nil && e.Code == errs.Validation {
			c := *e
			c.Kind = errs.KindStructure
			return nil, &c
		}
		return nil, err
	}
	return doc, nil
}

func (h *Handler) createPipeline(w http.ResponseWriter, r *http.Request) {
	doc, err := h.loadPipeline(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := doc.Pipeline
	p.Version = nil
	out, err := h.svc.CreatePipeline(r.Context(), p, doc.Tags)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/pipelines/"+EscapeSegment(p.Name))
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listPipelines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := restQueryInt(q, "maxResults", 1, 1000)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ListPipelines(r.Context(), int(n), q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getPipeline(w http.ResponseWriter, r *http.Request) {
	v, err := restQueryInt(r.URL.Query(), "version", 1, 1<<31-1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.GetPipeline(r.Context(), r.PathValue("name"), int(v))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) updatePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	doc, err := h.loadPipeline(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(doc.Tags) > 0 {
		h.fail(w, r, restInvalid("tags", "an update takes no tags; change them with PUT /v1/pipelines/%s/tags", url.PathEscape(name)))
		return
	}
	p := doc.Pipeline
	if p.Name != name {
		h.fail(w, r, restInvalid("name", "is %q but the path names pipeline %q; a pipeline cannot be renamed", p.Name, name))
		return
	}
	p.Version = nil
	out, err := h.svc.UpdatePipeline(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) deletePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// The CodePipeline door deletes unknown names silently; REST says 404.
	existed, err := h.svc.DeletePipeline(r.Context(), name)
	if err == nil && !existed {
		err = errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) pipelineState(w http.ResponseWriter, r *http.Request) {
	lane, err := restQueryLane(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.GetPipelineStateIn(r.Context(), r.PathValue("name"), lane)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}
