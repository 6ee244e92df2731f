package api

import (
	"bytes"
	"crypto/subtle"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/api/consoleui"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// The console's sign-in, under /console (not the REST door: a browser
// navigates here, and is answered HTML pages):
//
//	GET  /console/signin?token=T   exchanges a one-time sign-in link for a session cookie, then redirects to /console/
//	POST /console/signout          ends the cookie's session (X-CSRF-Token required)
//	GET  /console/                 the console's page (shared/api/consoleui; the page asks /v1/whoami who is signed in)
//	GET  /console/assets/NAME      its style sheet and JavaScript modules
//	GET  /console/config.json      how the page signs in: a link, or Cognito deployed (consolesignin.go)
//	GET  /                         redirects to /console/
//
// The session cookie then authenticates requests of the REST door
// (authn.go): never the CodePipeline door, and every request of it that
// changes something must carry the session's CSRF token.
const (
	// SessionCookie is the console session cookie's name.
	SessionCookie = "stageflow_session"
	// CSRFHeader carries a console session's CSRF token (GET /v1/whoami
	// answers it as csrfToken).
	CSRFHeader = "X-CSRF-Token"
	// ConsolePath is the console's root.
	ConsolePath = "/console/"
	// ConsoleAssetsPath is where the console's assets are served.
	ConsoleAssetsPath = "/console/assets/"
	// ConsoleSignOutPath ends a session.
	ConsoleSignOutPath = "/console/signout"
)

// isConsolePath reports whether a path is the console's.
func isConsolePath(p string) bool { return p == "/console" || strings.HasPrefix(p, ConsolePath) }

// console answers the console's routes.
func (h *Handler) console(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case rest.ConsoleSignInPath:
		// GET only: a HEAD (a link preview) must not spend the link.
		if r.Method != http.MethodGet {
			h.consoleMethod(w, "GET")
			return
		}
		h.signIn(w, r)
	case ConsoleSignOutPath:
		if r.Method != http.MethodPost {
			h.consoleMethod(w, "POST")
			return
		}
		h.signOut(w, r)
	case "/console":
		http.Redirect(w, r, ConsolePath, http.StatusMovedPermanently)
	case ConsoleConfigPath:
		h.consoleConfigAnswer(w, r)
	default:
		name := consoleui.Index
		if r.URL.Path != ConsolePath {
			var ok bool
			if name, ok = strings.CutPrefix(r.URL.Path, ConsoleAssetsPath); !ok {
				consolePage(w, http.StatusNotFound, "Not found", "There is no console page "+r.URL.Path+".")
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.consoleMethod(w, "GET, HEAD")
			return
		}
		h.consoleApp(w, r, name)
	}
}

func (h *Handler) consoleMethod(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	consolePage(w, http.StatusMethodNotAllowed, "Method not allowed", "This page answers "+allow+" only.")
}

// signIn exchanges a sign-in link's token for a session cookie.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// The token is in the URL: no page this answer leads to may pass it on.
	w.Header().Set("Referrer-Policy", "no-referrer")
	if h.authNone {
		consolePage(w, http.StatusBadRequest, "No sign-in needed",
			"This server runs without authentication (--auth none): every local caller may do everything, and the console needs no sign-in.")
		return
	}
	throttleKey := throttle.Key("", r.RemoteAddr)
	if !h.failures.Allow(throttleKey) {
		if d := h.failures.RetryAfter(throttleKey); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds()+0.999)))
		}
		reqlog.Add(ctx, slog.String("refused", "too many failed sign-ins"))
		consolePage(w, http.StatusTooManyRequests, "Too many attempts",
			"Too many invalid sign-in links or sessions came from this address; wait a minute, then open a new link.")
		return
	}
	sess, err := h.svc.ExchangeConsoleLink(ctx, r.URL.Query().Get("token"))
	if err != nil {
		e, ok := errs.As(err)
		if !ok || (e.Code != errs.Validation && e.Code != errs.Forbidden) {
			reqlog.Fail(ctx, err)
			consolePage(w, http.StatusInternalServerError, "Sign-in failed", "The server could not check the sign-in link; try again.")
			return
		}
		h.failures.Failed(throttleKey)
		reqlog.Add(ctx, slog.String("refused", "sign-in link"))
		status := http.StatusForbidden
		if e.Code == errs.Validation {
			status = http.StatusBadRequest
		}
		consolePage(w, status, "Sign-in link not valid", e.Message)
		return
	}
	reqlog.Add(ctx, slog.String("principal", sess.Principal), slog.String("signedIn", "console"))
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(service.ConsoleSessionLifetime.Seconds()),
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ConsolePath, http.StatusSeeOther)
}

// signOut ends the cookie's session. A cookie naming no live session is
// simply cleared; a live one must come with its CSRF token, so that no
// other page can sign the user out.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ck, err := r.Cookie(SessionCookie)
	if err == nil {
		c, ok, err := h.svc.ConsoleCaller(ctx, ck.Value)
		if err != nil {
			reqlog.Fail(ctx, err)
			consolePage(w, http.StatusInternalServerError, "Sign-out failed", "The server could not look the session up; try again.")
			return
		}
		if ok {
			if !csrfMatches(r, c) {
				reqlog.Add(ctx, slog.String("refused", "csrf token"))
				consolePage(w, http.StatusForbidden, "Sign-out refused", csrfMessage)
				return
			}
			h.svc.EndConsoleSession(ck.Value)
			reqlog.Add(ctx, slog.String("principal", c.Principal), slog.String("signedOut", "console"))
		}
	}
	clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1,
	})
}

// consoleApp answers the console's page and its assets (consoleui), the
// same for everyone: the page asks GET /v1/whoami who is signed in. Only
// the embedded files are served, each with its own type, never sniffed;
// the Content-Security-Policy lets the page load only this server's
// scripts, styles and data, run no inline script, and be framed by no one.
func (h *Handler) consoleApp(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := consoleui.Lookup(name)
	if !ok {
		consolePage(w, http.StatusNotFound, "Not found", "There is no console page "+r.URL.Path+".")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ContentType)
	hd.Set("Content-Security-Policy", consoleCSPFor(h.cognito))
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	// Revalidated each time (the ETag makes that cheap): a new binary's
	// assets are never mixed with an old one's.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.ETag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.Content))
}

// ConsoleCSP is the console's Content-Security-Policy.
const ConsoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var consoleTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

// consolePage answers a small HTML page; nothing in it is trusted markup.
func consolePage(w http.ResponseWriter, status int, title, message string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = consoleTemplate.Execute(w, struct{ Title, Message string }{title, message})
}

const csrfMessage = "requests of a console session that change something must carry the session's CSRF token in the " +
	CSRFHeader + " header (GET /v1/whoami answers it as csrfToken)"

// csrfMatches reports whether a request carries its console session's CSRF
// token, compared in constant time.
func csrfMatches(r *http.Request, c service.Caller) bool {
	want := c.ConsoleSessionCSRF()
	got := r.Header.Get(CSRFHeader)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// changesState reports whether a request made with a session cookie must
// carry the CSRF token.
func changesState(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}
