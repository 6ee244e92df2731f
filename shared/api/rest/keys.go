package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// The server's access keys, the policies of principals, and the caller's
// own identity.

// RESTCreateAccessKey is the body of POST /v1/keys.
type RESTCreateAccessKey struct {
	User        string       `json:"user" api:"required"`
	Description string       `json:"description,omitempty"`
	Policies    []RESTPolicy `json:"policies" api:"required"`
}

// RESTPolicy names a policy to attach: a built-in policy by its name, or a
// document of IAM's policy language (a JSON string) under a name of the
// caller's.
type RESTPolicy struct {
	Name     string `json:"name" api:"required"`
	Document string `json:"document,omitempty"`
}

// RESTAccessKeys is the answer of GET /v1/keys.
type RESTAccessKeys struct {
	AccessKeys []service.AccessKey `json:"accessKeys"`
}

// RESTPrincipalPolicies is the body of PUT /v1/principal-policies and the
// answer of GET /v1/principal-policies?principal=ARN.
type RESTPrincipalPolicies struct {
	Principal string       `json:"principal" api:"required"`
	Policies  []RESTPolicy `json:"policies" api:"required"`
}

func attached(ps []RESTPolicy) []store.AttachedPolicy {
	out := make([]store.AttachedPolicy, len(ps))
	for i, p := range ps {
		out[i] = store.AttachedPolicy{Name: p.Name, Document: p.Document}
	}
	return out
}

func restPolicies(ps []store.AttachedPolicy) []RESTPolicy {
	out := make([]RESTPolicy, len(ps))
	for i, p := range ps {
		out[i] = RESTPolicy{Name: p.Name, Document: p.Document}
	}
	return out
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	var body RESTCreateAccessKey
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateAccessKey(r.Context(), service.CreateAccessKeyInput{
		User: body.User, Description: body.Description, Policies: attached(body.Policies),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := h.svc.ListAccessKeys(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTAccessKeys{AccessKeys: keys})
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteAccessKey(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) putPrincipalPolicies(w http.ResponseWriter, r *http.Request) {
	var body RESTPrincipalPolicies
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.PutPrincipalPolicies(r.Context(), body.Principal, attached(body.Policies)); err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, body)
}

func (h *Handler) getPrincipalPolicies(w http.ResponseWriter, r *http.Request) {
	principal := r.URL.Query().Get("principal")
	ps, err := h.svc.GetPrincipalPolicies(r.Context(), principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTPrincipalPolicies{Principal: principal, Policies: restPolicies(ps)})
}

// whoami answers GET /v1/whoami[?action=A&resource=R...]: the i-th action
// pairs with the i-th resource ("*" when there are fewer resources).
func (h *Handler) whoami(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	actions, resources := q["action"], q["resource"]
	if len(resources) > len(actions) {
		h.fail(w, r, restInvalid("resource", "%d resources given for %d actions: each resource pairs with an action", len(resources), len(actions)))
		return
	}
	checks := make([]service.PermissionCheck, len(actions))
	for i, a := range actions {
		checks[i] = service.PermissionCheck{Action: a}
		if i < len(resources) {
			checks[i].Resource = resources[i]
		}
	}
	out, err := h.svc.GetCallerIdentity(r.Context(), checks)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}
