package rest

import (
	"net/http"

	"github.com/stageflow/stageflow/shared/service"
)

// Connections and CodeCommit repository names: a git remote and its
// credentials. Secrets go in the body of a creation and never come back,
// but for a connection's trigger secret, answered once at creation and at
// each rotation.

// RESTCreateConnection is the body of POST /v1/connections.
type RESTCreateConnection struct {
	Name     string `json:"name" api:"required"`
	ID       string `json:"id,omitempty"`
	Remote   string `json:"remote" api:"required"`
	Username string `json:"username,omitempty"`
	Token    string `json:"token,omitempty"`
	SSHKey   string `json:"sshKey,omitempty"`
}

// RESTCreateRepository is the body of POST /v1/repositories.
type RESTCreateRepository struct {
	Name     string `json:"name" api:"required"`
	Remote   string `json:"remote" api:"required"`
	Username string `json:"username,omitempty"`
	Token    string `json:"token,omitempty"`
	SSHKey   string `json:"sshKey,omitempty"`
}

// RESTConnections is the answer of GET /v1/connections.
type RESTConnections struct {
	Connections []service.Connection `json:"connections"`
}

// RESTRepositories is the answer of GET /v1/repositories.
type RESTRepositories struct {
	Repositories []service.Connection `json:"repositories"`
}

func (h *Handler) createConnection(w http.ResponseWriter, r *http.Request) {
	var body RESTCreateConnection
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateConnection(r.Context(), service.CreateConnectionInput{Name: body.Name, ID: body.ID,
		Remote: body.Remote, Username: body.Username, Token: body.Token, SSHKey: body.SSHKey})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listConnections(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.ListConnections(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTConnections{Connections: list})
}

func (h *Handler) getConnection(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) deleteConnection(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteConnection(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateTriggerSecret(w http.ResponseWriter, r *http.Request) {
	var body struct{} // no fields: any given is refused
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.RotateTriggerSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) createRepository(w http.ResponseWriter, r *http.Request) {
	var body RESTCreateRepository
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.CreateRepository(r.Context(), service.CreateConnectionInput{Name: body.Name,
		Remote: body.Remote, Username: body.Username, Token: body.Token, SSHKey: body.SSHKey})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listRepositories(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.ListRepositories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTRepositories{Repositories: list})
}

func (h *Handler) getRepository(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetRepository(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *Handler) deleteRepository(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteRepository(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
