package rest

import (
	"fmt"
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
	var body RESTTags
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	var problems []errs.Problem
	if len(body.Tags) == 0 {
		problems = append(problems, errs.Problem{Path: "tags", Message: "must list at least one tag"})
	}
	for i, t := range body.Tags {
		if t.Key == "" || len(t.Key) > 128 {
			problems = append(problems, errs.Problem{Path: fmt.Sprintf("tags[%d].key", i), Message: "must be 1 to 128 characters"})
		}
		if len(t.Value) > 256 {
			problems = append(problems, errs.Problem{Path: fmt.Sprintf("tags[%d].value", i), Message: "must be at most 256 characters"})
		}
	}
	if len(problems) > 0 {
		h.fail(w, r, errs.Invalid("invalid tags", problems))
		return
	}
	arn := h.svc.PipelineArn(name)
	if err := h.svc.TagResource(r.Context(), arn, body.Tags); err != nil {
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
