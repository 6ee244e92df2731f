package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/errs"
)

// A pipeline's tags.

func (h *Handler) listTags(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tags, err := h.svc.ListTags(r.Context(), h.svc.PipelineArn(name))
	if err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *Handler) tagPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body restTagsInput
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	// The API allows an empty list; a PUT without tags is taken for a
	// mistake here.
	if len(body.Tags) == 0 {
		h.fail(w, r, restInvalid("tags", "must list at least one tag"))
		return
	}
	arn := h.svc.PipelineArn(name)
	if err := h.svc.TagResource(r.Context(), arn, body.tags()); err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	tags, err := h.svc.ListTags(r.Context(), arn)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *Handler) untagPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	keys := r.URL.Query()["key"]
	if len(keys) == 0 {
		h.fail(w, r, restInvalid("key", "name at least one tag key: ?key=a&key=b"))
		return
	}
	if err := h.svc.UntagResource(r.Context(), h.svc.PipelineArn(name), keys); err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// restPipelineNotFound names the pipeline of a tag operation whose resource
// ARN named none.
func restPipelineNotFound(err error, name string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
	}
	return err
}
