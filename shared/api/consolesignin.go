package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/stageflow/stageflow/shared/service"
)

// ConsoleConfigPath answers how the console signs in (consoleConfig): the
// page reads it before anything else.
const ConsoleConfigPath = "/console/config.json"

// CognitoSignIn is the console's sign-in with a Cognito user pool's managed
// login (the hosted UI), deployed: the page signs in with the
// authorization-code grant and PKCE, and calls the REST door under APIBase
// with the user pool's access token (Authorization: Bearer), which the HTTP
// API's JWT authorizer checks.
type CognitoSignIn struct {
	// Domain is the user pool domain's origin
	// (https://PREFIX.auth.REGION.amazoncognito.com): its /oauth2/authorize,
	// /oauth2/token and /logout endpoints.
	Domain string
	// ClientID is the user pool's app client of the console (no secret).
	ClientID string
	// APIBase prefixes the REST door's paths (deployed.ConsolePrefix).
	APIBase string
}

// consoleConfig is the answer of ConsoleConfigPath.
type consoleConfig struct {
	// Mode is "link" (a one-time link of `stageflow console-link`, then a
	// session cookie) or "cognito".
	Mode     string `json:"mode"`
	Domain   string `json:"domain,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	APIBase  string `json:"apiBase,omitempty"`
}

// cognitoClientID is what Cognito app client IDs look like.
var cognitoClientID = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// check reports what is wrong with a sign-in configuration: the domain an
// https origin (http only on loopback, for tests), the client ID Cognito's
// shape, the base a path. The domain goes into the page's
// Content-Security-Policy, so nothing else may be in it.
func (c *CognitoSignIn) check() error {
	u, err := url.Parse(c.Domain)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(c.Domain, " ;,'\"") {
		return fmt.Errorf("the console's Cognito domain %q is not an origin (https://PREFIX.auth.REGION.amazoncognito.com)", c.Domain)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && service.IsLoopbackHost(u.Hostname())) {
		return fmt.Errorf("the console's Cognito domain %q is not https", c.Domain)
	}
	c.Domain = u.Scheme + "://" + u.Host
	if !cognitoClientID.MatchString(c.ClientID) {
		return fmt.Errorf("the console's Cognito app client ID %q is not one (letters and digits)", c.ClientID)
	}
	if c.APIBase != "" && (!strings.HasPrefix(c.APIBase, "/") || strings.HasSuffix(c.APIBase, "/") || strings.ContainsAny(c.APIBase, "?#%\\ ")) {
		return fmt.Errorf("the console's API base %q is not a path like /console", c.APIBase)
	}
	return nil
}

// consoleCSPFor is the console's Content-Security-Policy for a sign-in:
// with Cognito, the page also exchanges codes and refresh tokens at the
// domain's token endpoint.
func consoleCSPFor(c *CognitoSignIn) string {
	if c == nil {
		return ConsoleCSP
	}
	return strings.Replace(ConsoleCSP, "connect-src 'self';", "connect-src 'self' "+c.Domain+";", 1)
}

// consoleConfigAnswer answers ConsoleConfigPath: public, the same for
// everyone (nothing in it is secret), never cached (a deployment may change
// it).
func (h *Handler) consoleConfigAnswer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.consoleMethod(w, "GET, HEAD")
		return
	}
	cfg := consoleConfig{Mode: "link"}
	if c := h.cognito; c != nil {
		cfg = consoleConfig{Mode: "cognito", Domain: c.Domain, ClientID: c.ClientID, APIBase: c.APIBase}
	}
	body, _ := json.Marshal(cfg)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(append(body, '\n'))
	}
}

// consolePageNavigation reports whether a request is a browser opening the
// console's page (or the address that redirects to it) at the top level,
// which the cross-site guard lets through: the page is the same static
// document for everyone, no one may frame it, and what it then asks the
// REST door is same-origin. Cognito's hosted UI sends the browser back to
// the page from its own site, and a link to the console may be on any
// page. The one-time sign-in link stays guarded (a link planted on another
// site must not sign the browser in).
func consolePageNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Sec-Fetch-Mode") != "navigate" || r.Header.Get("Sec-Fetch-Dest") != "document" {
		return false
	}
	switch r.URL.Path {
	case "/", "/console", ConsolePath:
		return true
	}
	return false
}
