package rest

import (
	"net/http"
	"net/url"
	"time"
)

// The console's sign-in links.
//
//	POST /v1/console-links    ({}): a one-time sign-in link for the caller's own key

// ConsoleSignInPath is where a sign-in link leads: the HTTP surface
// (shared/api) exchanges its token for a session cookie there.
const ConsoleSignInPath = "/console/signin"

// RESTConsoleLinkRequest is the body of POST /v1/console-links (nothing to
// say yet: the link is for the key that signed the request).
type RESTConsoleLinkRequest struct{}

// RESTConsoleLink is the answer of POST /v1/console-links.
type RESTConsoleLink struct {
	URL         string    `json:"url"`
	AccessKeyID string    `json:"accessKeyId"`
	Principal   string    `json:"principal"`
	Expires     time.Time `json:"expiresAt"`
}

// ConsoleLinkURL is the sign-in link of token on the server at base
// (scheme and host: http://127.0.0.1:8080).
func ConsoleLinkURL(base, token string) string {
	return base + ConsoleSignInPath + "?" + url.Values{"token": {token}}.Encode()
}

func (h *Handler) createConsoleLink(w http.ResponseWriter, r *http.Request) {
	var body RESTConsoleLinkRequest
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.svc.CreateConsoleLink(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	restWriteJSON(w, http.StatusCreated, RESTConsoleLink{
		URL: ConsoleLinkURL(scheme+"://"+r.Host, l.Token), AccessKeyID: l.AccessKeyID, Principal: l.Principal, Expires: l.Expires,
	})
}
