package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/service"
)

// Buckets at other S3-compatible endpoints, read by S3 source actions: the
// endpoint and its credentials under the bucket's name. The secret access
// key goes in the body of a creation and never comes back.

// RESTCreateBucket is the body of POST /v1/buckets.
type RESTCreateBucket struct {
	Name            string `json:"name" api:"required"`
	Endpoint        string `json:"endpoint" api:"required"`
	Region          string `json:"region,omitempty"`
	PathStyle       bool   `json:"pathStyle,omitempty"`
	AccessKeyID     string `json:"accessKeyId" api:"required"`
	SecretAccessKey string `json:"secretAccessKey" api:"required"`
}

// RESTBuckets is the answer of GET /v1/buckets.
type RESTBuckets struct {
	Buckets []service.Bucket `json:"buckets"`
}

func (h *Handler) createBucket(w http.ResponseWriter, r *http.Request) {
	var body RESTCreateBucket
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateBucket(r.Context(), service.CreateBucketInput{Name: body.Name, Endpoint: body.Endpoint,
		Region: body.Region, PathStyle: body.PathStyle, AccessKeyID: body.AccessKeyID, SecretAccessKey: body.SecretAccessKey})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listBuckets(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.ListBuckets(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTBuckets{Buckets: list})
}

func (h *Handler) getBucket(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetBucket(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteBucket(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
