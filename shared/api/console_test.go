package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/service"
)

// testClock is a server clock the test moves forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// noRedirects is a plain (unsigned) client that shows redirects as they are.
func noRedirects(base *http.Client) *http.Client {
	c := *base
	c.Transport = base.Transport
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// consoleLink asks the server for a sign-in link, signed with creds.
func consoleLink(t *testing.T, srv *apitest.Server, creds aws.Credentials) rest.RESTConsoleLink {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/console-links", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	status, body := send(t, srv.ClientOf(creds), req)
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/console-links: %d %s", status, body)
	}
	var l rest.RESTConsoleLink
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// openLink opens a sign-in link as a browser would (no signature).
func openLink(t *testing.T, client *http.Client, link string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("Sec-Fetch-Site", "none") // typed or pasted into the address bar
	resp, err := noRedirects(client).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn opens a fresh link for creds and returns the session cookie.
func signIn(t *testing.T, srv *apitest.Server, creds aws.Credentials) *http.Cookie {
	t.Helper()
	resp, body := openLink(t, &http.Client{}, consoleLink(t, srv, creds).URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	t.Fatalf("sign-in set no %s cookie: %v", api.SessionCookie, resp.Header["Set-Cookie"])
	return nil
}

// browser sends a request as the console's page would: the session cookie,
// same-origin, and the CSRF token when csrf is set.
func browser(t *testing.T, srv *apitest.Server, cookie *http.Cookie, method, path, body, csrf string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.AddCookie(cookie)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set(api.CSRFHeader, csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, &http.Client{}, req)
}

// whoamiOf is GET /v1/whoami as the session.
func whoamiOf(t *testing.T, srv *apitest.Server, cookie *http.Cookie) service.CallerIdentity {
	t.Helper()
	status, body := browser(t, srv, cookie, http.MethodGet, "/v1/whoami?action=codepipeline:ListPipelines", "", "")
	if status != http.StatusOK {
		t.Fatalf("whoami: %d %s", status, body)
	}
	var id service.CallerIdentity
	if err := json.Unmarshal(body, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestConsoleLinkIsUsedOnce(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	l := consoleLink(t, srv, srv.Admin)
	if !strings.HasPrefix(l.URL, srv.URL+rest.ConsoleSignInPath+"?token=") || l.Principal != apitest.AdminPrincipal ||
		l.AccessKeyID != srv.Admin.AccessKeyID {
		t.Fatalf("link %+v", l)
	}
	if d := time.Until(l.Expires); d <= 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("the link expires in %v, want 10 minutes", d)
	}
	resp, body := openLink(t, &http.Client{}, l.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != api.ConsolePath {
		t.Fatalf("first use: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("no session cookie: %v", resp.Header["Set-Cookie"])
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure || cookie.Domain != "" {
		t.Fatalf("cookie attributes: %+v (want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP)", cookie)
	}
	if len(cookie.Value) < 43 || strings.Contains(l.URL, cookie.Value) {
		t.Fatalf("session ID %q", cookie.Value)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}

	resp, body = openLink(t, &http.Client{}, l.URL)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "already used") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || len(resp.Cookies()) != 0 {
		t.Fatalf("second use: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// The console's page asks whoami who is signed in.
	status, page := browser(t, srv, cookie, http.MethodGet, api.ConsolePath, "", "")
	if status != http.StatusOK || !strings.Contains(string(page), `src="/console/assets/app.js"`) {
		t.Fatalf("console root: %d %s", status, page)
	}
	if me := whoamiOf(t, srv, cookie); me.Principal != apitest.AdminPrincipal {
		t.Fatalf("whoami of the session: %+v", me)
	}
}

func TestConsoleLinkRefused(t *testing.T) {
	clock := &testClock{}
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithClock(clock.now), apitest.WithFailureLimit(1000))
	tamper := func(link string) string {
		u, _ := url.Parse(link)
		tok := []byte(u.Query().Get("token"))
		if tok[5] == 'A' {
			tok[5] = 'B'
		} else {
			tok[5] = 'A'
		}
		return srv.URL + rest.ConsoleSignInPath + "?token=" + string(tok)
	}
	// A tampered token is refused, and does not spend the link it came from.
	tampered := consoleLink(t, srv, srv.Admin).URL
	if resp, body := openLink(t, &http.Client{}, tamper(tampered)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid") {
		t.Fatalf("tampered: %d %s", resp.StatusCode, body)
	}
	if resp, body := openLink(t, &http.Client{}, tampered); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the original of a tampered link: %d %s", resp.StatusCode, body)
	}
	expired := consoleLink(t, srv, srv.Admin).URL
	almost := consoleLink(t, srv, srv.Admin).URL
	clock.advance(service.ConsoleLinkLifetime - time.Minute)
	if resp, body := openLink(t, &http.Client{}, almost); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a link a minute before it expires: %d %s", resp.StatusCode, body)
	}
	clock.advance(2 * time.Minute)
	for _, tc := range []struct {
		name, link string
		status     int
		says       string
	}{
		{"expired", expired, http.StatusForbidden, "not valid"},
		{"used", tampered, http.StatusForbidden, "not valid"},
		{"no token", srv.URL + rest.ConsoleSignInPath, http.StatusBadRequest, "no token"},
		{"garbage", srv.URL + rest.ConsoleSignInPath + "?token=%3Cscript%3E", http.StatusForbidden, "not valid"},
		{"too long", srv.URL + rest.ConsoleSignInPath + "?token=" + strings.Repeat("A", 5000), http.StatusForbidden, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := openLink(t, &http.Client{}, tc.link)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) || len(resp.Cookies()) != 0 || strings.Contains(body, "<script>") {
				t.Fatalf("%d %s, want %d saying %q", resp.StatusCode, body, tc.status, tc.says)
			}
		})
	}
	// A fresh link still works at the moved clock.
	signIn(t, srv, srv.Admin)
}

func TestConsoleLinkOpenedFromAnotherSite(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	l := consoleLink(t, srv, srv.Admin)
	req, _ := http.NewRequest(http.MethodGet, l.URL, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := noRedirects(&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestConsoleCookieSecureWithTLS(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithTLS())
	l := consoleLink(t, srv, srv.Admin)
	if !strings.HasPrefix(l.URL, "https://") {
		t.Fatalf("link %s", l.URL)
	}
	resp, body := openLink(t, srv.HTTP.Client(), l.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v, want one Secure, HttpOnly, SameSite=Strict", cookies)
	}
}

func TestConsoleSessionCallsTheRESTDoor(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	full := srv.NewKey("full", apitest.Builtin(auth.FullAccess))
	read := srv.NewKey("read", apitest.Builtin(auth.ReadOnlyAccess))
	fullCookie, readCookie := signIn(t, srv, full), signIn(t, srv, read)

	id := whoamiOf(t, srv, fullCookie)
	if id.Principal != srv.Service.UserArn("full") || !id.Verified || id.AccessKeyID != full.AccessKeyID || id.Door != service.DoorREST ||
		len(id.CSRFToken) < 43 {
		t.Fatalf("whoami of the session: %+v", id)
	}
	csrf := id.CSRFToken
	if other := whoamiOf(t, srv, readCookie).CSRFToken; other == csrf || other == "" {
		t.Fatalf("sessions share a CSRF token")
	}
	// A signed caller gets no CSRF token.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/whoami", nil)
	if _, body := send(t, srv.Client(), req); strings.Contains(string(body), "csrfToken") {
		t.Fatalf("signed whoami: %s", body)
	}

	// State-changing requests need the session's CSRF token.
	for _, tc := range []struct{ name, csrf string }{{"without", ""}, {"wrong", strings.Repeat("x", len(csrf))}, {"short", csrf[:10]},
		{"another session's", whoamiOf(t, srv, readCookie).CSRFToken}} {
		status, body := browser(t, srv, fullCookie, http.MethodPost, "/v1/pipelines", pipelineJS, tc.csrf)
		if status != http.StatusForbidden || !strings.Contains(string(body), api.CSRFHeader) {
			t.Fatalf("POST %s CSRF token: %d %s", tc.name, status, body)
		}
		status, body = browser(t, srv, fullCookie, http.MethodDelete, "/v1/pipelines/p", "", tc.csrf)
		if status != http.StatusForbidden || !strings.Contains(string(body), api.CSRFHeader) {
			t.Fatalf("DELETE %s CSRF token: %d %s", tc.name, status, body)
		}
	}
	if _, err := srv.Service.GetPipeline(service.LocalCaller(context.Background(), "test"), "p", 0); err == nil {
		t.Fatal("a refused request created the pipeline")
	}
	status, body := browser(t, srv, fullCookie, http.MethodPost, "/v1/pipelines", pipelineJS, csrf)
	if status != http.StatusCreated {
		t.Fatalf("POST with the CSRF token: %d %s", status, body)
	}
	if _, err := srv.Service.GetPipeline(service.LocalCaller(context.Background(), "test"), "p", 0); err != nil {
		t.Fatal(err)
	}

	// The read-only key's session reads, and may not create.
	status, body = browser(t, srv, readCookie, http.MethodGet, "/v1/pipelines", "", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"p"`) {
		t.Fatalf("read-only session lists: %d %s", status, body)
	}
	readCSRF := whoamiOf(t, srv, readCookie).CSRFToken
	status, body = browser(t, srv, readCookie, http.MethodPost, "/v1/pipelines", strings.Replace(pipelineJS, `"name":"p"`, `"name":"q"`, 1), readCSRF)
	if status != http.StatusForbidden || restErrorCode(status, body) != "AccessDeniedException" ||
		!strings.Contains(string(body), "codepipeline:CreatePipeline") {
		t.Fatalf("read-only session creates: %d %s", status, body)
	}

	// Cross-site requests are refused, cookie or not.
	for _, h := range [][2]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		status, body := browser(t, srv, fullCookie, http.MethodDelete, "/v1/pipelines/p", "", csrf, h[0], h[1])
		if status != http.StatusForbidden || !strings.Contains(string(body), "refused") {
			t.Fatalf("cross-site (%s): %d %s", h[0], status, body)
		}
		status, _ = browser(t, srv, fullCookie, http.MethodGet, "/v1/pipelines", "", "", h[0], h[1])
		if status != http.StatusForbidden {
			t.Fatalf("cross-site read (%s): %d", h[0], status)
		}
	}

	// The CodePipeline door takes no cookie.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
	req.AddCookie(fullCookie)
	req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+"ListPipelines")
	req.Header.Set("Content-Type", cpdoor.ContentType)
	req.Header.Set(api.CSRFHeader, csrf)
	if status, body := send(t, &http.Client{}, req); status != http.StatusForbidden || cpErrorType(status, body) != "MissingAuthenticationTokenException" {
		t.Fatalf("CodePipeline door with a cookie: %d %s", status, body)
	}

	// A session cannot ask for a sign-in link (it would outlive itself).
	status, body = browser(t, srv, fullCookie, http.MethodPost, "/v1/console-links", "{}", csrf)
	if status != http.StatusForbidden {
		t.Fatalf("a session asks for a link: %d %s", status, body)
	}

	// A forged cookie is no session.
	status, body = browser(t, srv, &http.Cookie{Name: api.SessionCookie, Value: strings.Repeat("A", 43)}, http.MethodGet, "/v1/pipelines", "", "")
	if status != http.StatusForbidden || restErrorCode(status, body) != "ExpiredTokenException" {
		t.Fatalf("forged cookie: %d %s", status, body)
	}
}

func TestConsoleSessionEnds(t *testing.T) {
	clock := &testClock{}
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithClock(clock.now))
	ended := func(t *testing.T, cookie *http.Cookie) bool {
		t.Helper()
		status, body := browser(t, srv, cookie, http.MethodGet, "/v1/pipelines", "", "")
		switch {
		case status == http.StatusOK:
			return false
		case status == http.StatusForbidden && restErrorCode(status, body) == "ExpiredTokenException":
			return true
		}
		t.Fatalf("%d %s", status, body)
		return false
	}

	t.Run("sign-out", func(t *testing.T) {
		cookie := signIn(t, srv, srv.Admin)
		csrf := whoamiOf(t, srv, cookie).CSRFToken
		if status, _ := browser(t, srv, cookie, http.MethodPost, api.ConsoleSignOutPath, "", ""); status != http.StatusForbidden {
			t.Fatalf("sign-out without the CSRF token: %d", status)
		}
		if ended(t, cookie) {
			t.Fatal("a refused sign-out ended the session")
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+api.ConsoleSignOutPath, nil)
		req.AddCookie(cookie)
		req.Header.Set(api.CSRFHeader, csrf)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || (c.Name == api.SessionCookie && c.MaxAge < 0)
		}
		if resp.StatusCode != http.StatusNoContent || !cleared {
			t.Fatalf("sign-out: %d %v", resp.StatusCode, resp.Header)
		}
		if !ended(t, cookie) {
			t.Fatal("the session outlived its sign-out")
		}
	})

	t.Run("key deleted", func(t *testing.T) {
		key := srv.NewKey("gone", apitest.Builtin(auth.ReadOnlyAccess))
		cookie := signIn(t, srv, key)
		if ended(t, cookie) {
			t.Fatal("fresh session refused")
		}
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/keys/"+key.AccessKeyID, nil)
		if status, body := send(t, srv.Client(), req); status != http.StatusNoContent {
			t.Fatalf("deleting the key: %d %s", status, body)
		}
		if !ended(t, cookie) {
			t.Fatal("the session outlived its key")
		}
	})

	t.Run("idle", func(t *testing.T) {
		busy, idle := signIn(t, srv, srv.Admin), signIn(t, srv, srv.Admin)
		clock.advance(service.ConsoleSessionIdle - time.Minute)
		if ended(t, busy) {
			t.Fatal("a session ended before its idle timeout")
		}
		clock.advance(2 * time.Minute)
		if !ended(t, idle) {
			t.Fatal("a session outlived its idle timeout")
		}
		if ended(t, busy) {
			t.Fatal("a used session ended at the idle timeout of its sign-in")
		}
		// However busy, a session ends at its absolute lifetime.
		for elapsed := service.ConsoleSessionIdle + time.Minute; elapsed+time.Hour < service.ConsoleSessionLifetime; elapsed += time.Hour {
			clock.advance(time.Hour)
			if ended(t, busy) {
				t.Fatalf("a busy session ended after %v", elapsed)
			}
		}
		clock.advance(2 * time.Hour)
		if !ended(t, busy) {
			t.Fatal("a session outlived its absolute lifetime")
		}
	})
}

// TestConsoleBounds: unused links per key and sessions are bounded; the
// oldest go first.
func TestConsoleBounds(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(context.Background(), "test")
	var tokens []string
	for range service.MaxConsoleLinksPerKey + 1 {
		l, err := srv.Service.CreateAdminConsoleLink(ctx, srv.Admin.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, l.Token)
	}
	if _, err := srv.Service.ExchangeConsoleLink(ctx, tokens[0]); err == nil {
		t.Fatal("the oldest of too many links still works")
	}
	first, err := srv.Service.ExchangeConsoleLink(ctx, tokens[1])
	if err != nil {
		t.Fatal(err)
	}
	for range service.MaxConsoleSessions {
		l, err := srv.Service.CreateAdminConsoleLink(ctx, srv.Admin.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Service.ExchangeConsoleLink(ctx, l.Token); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := srv.Service.ConsoleCaller(ctx, first.ID); ok {
		t.Fatal("the session idle longest survived the bound")
	}
}

// TestConsoleFailures: bad sign-in links are throttled per address like
// failed signatures; ended sessions are not (a console still sending an
// old cookie must not lock its user out of signing in again); a HEAD of a
// link (a preview) does not spend it.
func TestConsoleFailures(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithFailureLimit(3))
	stale := &http.Cookie{Name: api.SessionCookie, Value: strings.Repeat("A", 43)}
	for i := range 6 {
		status, body := browser(t, srv, stale, http.MethodGet, "/v1/pipelines", "", "")
		if status != http.StatusForbidden || restErrorCode(status, body) != "ExpiredTokenException" {
			t.Fatalf("stale cookie, request %d: %d %s", i, status, body)
		}
	}
	l := consoleLink(t, srv, srv.Admin)
	req, _ := http.NewRequest(http.MethodHead, l.URL, nil)
	if status, _ := send(t, &http.Client{}, req); status != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD of a link: %d", status)
	}
	if resp, body := openLink(t, &http.Client{}, l.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a link after stale cookies and a HEAD: %d %s", resp.StatusCode, body)
	}
	var last int
	for range 4 {
		resp, _ := openLink(t, &http.Client{}, l.URL)
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("the 4th spent link in a row: %d, want 429", last)
	}
}
