package main

// Stand-ins for what the deployed console talks to and cannot run here:
// Cognito's hosted UI and OAuth 2.0 endpoints (fakeCognito), and API
// Gateway's HTTP API in front of the api function (fakeGateway), each
// shaped by AWS's documented behaviour. The api function's own handler
// (deployed.NewAPIHandler) runs behind the fake gateway, fed API Gateway
// v2 events through the same adapter the function uses.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/deployed"
)

// fakeUser is a user of the fake pool.
type fakeUser struct {
	Name   string
	Groups []string
}

// fakeCognito is a user pool's domain: /oauth2/authorize (the hosted UI's
// sign-in form), /oauth2/token (authorization_code with PKCE S256, and
// refresh_token), /oauth2/revoke and /logout, for one public app client.
// Its tokens are RS256 JWTs with the claims Cognito's access and ID tokens
// carry.
type fakeCognito struct {
	Origin    string // set once its server is listening
	Issuer    string // https://cognito-idp.REGION.amazonaws.com/POOL
	ClientID  string
	Callbacks []string // the client's callback and sign-out URLs
	Users     map[string]fakeUser
	// Lifetime is the access and ID tokens' expires_in.
	Lifetime time.Duration
	key      *rsa.PrivateKey

	mu        sync.Mutex
	codes     map[string]fakeCode
	refreshes map[string]string // refresh token → user
	revoked   map[string]bool
	// What was asked of it.
	Authorizes []url.Values
	Grants     []string // grant_type of each successful token request
	Refused    []string // why token requests were refused
	Logouts    int
	issuedBy   map[string]string // access token → the grant that issued it
}

type fakeCode struct {
	user, redirect, challenge string
	expires                   time.Time
}

func newFakeCognito(issuer, clientID string, users ...fakeUser) *fakeCognito {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	f := &fakeCognito{Issuer: issuer, ClientID: clientID, Users: map[string]fakeUser{}, Lifetime: time.Hour, key: key,
		codes: map[string]fakeCode{}, refreshes: map[string]string{}, revoked: map[string]bool{}, issuedBy: map[string]string{}}
	for _, u := range users {
		f.Users[u.Name] = u
	}
	return f
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var hostedUI = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<form method="post" action="/login">
{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<label>Username <input id="username" name="username"></label>
<button id="submit" type="submit">Sign in</button>
</form></body></html>`))

func (f *fakeCognito) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/authorize":
		f.authorize(w, r)
	case "/login":
		f.login(w, r)
	case "/oauth2/token":
		f.token(w, r)
	case "/oauth2/revoke":
		f.revoke(w, r)
	case "/logout":
		q := r.URL.Query()
		if q.Get("client_id") != f.ClientID || !slices.Contains(f.Callbacks, q.Get("logout_uri")) {
			http.Error(w, "logout: unknown client_id or logout_uri", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.Logouts++
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// authorize checks the request as Cognito does (the client, a registered
// redirect_uri, the code grant, S256 PKCE) and shows the sign-in form.
func (f *fakeCognito) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.Authorizes = append(f.Authorizes, q)
	f.mu.Unlock()
	switch {
	case q.Get("client_id") != f.ClientID:
		http.Error(w, "invalid_request: client_id", http.StatusBadRequest)
	case !slices.Contains(f.Callbacks, q.Get("redirect_uri")):
		http.Error(w, "redirect_mismatch", http.StatusBadRequest)
	case q.Get("response_type") != "code":
		http.Error(w, "unsupported_response_type", http.StatusBadRequest)
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "invalid_request: code_challenge", http.StatusBadRequest)
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		http.Error(w, "invalid_scope", http.StatusBadRequest)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		hostedUI.Execute(w, q)
	}
}

// login is the hosted UI's form: a known user gets a code, sent back to
// the redirect_uri with the state.
func (f *fakeCognito) login(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	u, ok := f.Users[r.PostForm.Get("username")]
	if !ok {
		http.Error(w, "Incorrect username or password.", http.StatusUnauthorized)
		return
	}
	code := randomToken()
	f.mu.Lock()
	f.codes[code] = fakeCode{user: u.Name, redirect: r.PostForm.Get("redirect_uri"), challenge: r.PostForm.Get("code_challenge"),
		expires: time.Now().Add(5 * time.Minute)}
	f.mu.Unlock()
	back := r.PostForm.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {r.PostForm.Get("state")}}.Encode()
	http.Redirect(w, r, back, http.StatusFound)
}

// token is the token endpoint: a form POST; the answer JSON, errors as
// {"error": ...} with 400. A browser calls it from the console's origin.
func (f *fakeCognito) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(code, why string) {
		f.Refused = append(f.Refused, why)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":%q}`, code)
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		fail("invalid_request", "not a form POST")
		return
	}
	r.ParseForm()
	p := r.PostForm
	if p.Get("client_id") != f.ClientID {
		fail("invalid_client", "client_id")
		return
	}
	var user string
	out := map[string]any{"token_type": "Bearer", "expires_in": int(f.Lifetime.Seconds())}
	switch p.Get("grant_type") {
	case "authorization_code":
		c, ok := f.codes[p.Get("code")]
		delete(f.codes, p.Get("code")) // single use
		sum := sha256.Sum256([]byte(p.Get("code_verifier")))
		switch {
		case !ok || time.Now().After(c.expires):
			fail("invalid_grant", "unknown code")
			return
		case c.redirect != p.Get("redirect_uri"):
			fail("invalid_grant", "redirect_uri")
			return
		case subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1:
			fail("invalid_grant", "code_verifier")
			return
		}
		user = c.user
		refresh := randomToken()
		f.refreshes[refresh] = user
		out["refresh_token"] = refresh
	case "refresh_token":
		u, ok := f.refreshes[p.Get("refresh_token")]
		if !ok || f.revoked[p.Get("refresh_token")] {
			fail("invalid_grant", "refresh token")
			return
		}
		user = u
	default:
		fail("unsupported_grant_type", p.Get("grant_type"))
		return
	}
	out["access_token"] = f.jwt(user, "access")
	out["id_token"] = f.jwt(user, "id")
	f.issuedBy[out["access_token"].(string)] = p.Get("grant_type")
	f.Grants = append(f.Grants, p.Get("grant_type"))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// refreshed reports whether a refresh token was used.
func (f *fakeCognito) refreshed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.Grants, "refresh_token")
}

// grantOf is the grant that issued an access token ("" for none).
func (f *fakeCognito) grantOf(token string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issuedBy[token]
}

// signedOut is how many logouts were asked and tokens revoked.
func (f *fakeCognito) signedOut() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Logouts, len(f.revoked)
}

func (f *fakeCognito) revoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	r.ParseForm()
	if r.PostForm.Get("client_id") != f.ClientID {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.revoked[r.PostForm.Get("token")] = true
	f.mu.Unlock()
}

// jwt issues a token of a user: an access token (client_id, username,
// scope) or an ID token (aud, cognito:username), both with the user's
// groups. Called with f.mu held.
func (f *fakeCognito) jwt(user, use string) string {
	now := time.Now()
	u := f.Users[user]
	claims := map[string]any{
		"sub": "00000000-0000-4000-8000-" + fmt.Sprintf("%012x", len(user)), "iss": f.Issuer, "token_use": use,
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(f.Lifetime).Unix(), "jti": randomToken(), "origin_jti": randomToken(),
		"event_id": randomToken(),
	}
	if len(u.Groups) > 0 {
		claims["cognito:groups"] = u.Groups
	}
	if use == "access" {
		claims["client_id"], claims["username"], claims["scope"], claims["version"] = f.ClientID, user, "openid email profile", 2
	} else {
		claims["aud"], claims["cognito:username"], claims["email"] = f.ClientID, user, user+"@example.com"
	}
	head, _ := json.Marshal(map[string]string{"kid": "fake", "alg": "RS256"})
	body, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// verify checks a token as an HTTP API JWT authorizer does: the signature
// (the pool's key), the issuer, aud or client_id among the audience, not
// expired; it answers the claims.
func (f *fakeCognito) verify(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, false
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(body, &claims) != nil {
		return nil, false
	}
	exp, _ := claims["exp"].(float64)
	aud := claims["aud"]
	if aud == nil {
		aud = claims["client_id"]
	}
	if claims["iss"] != f.Issuer || aud != f.ClientID || time.Now().Unix() >= int64(exp) {
		return nil, false
	}
	return claims, true
}

// fakeGateway is the HTTP API in front of the api function: the routes
// infra declares (the REST door under /console with the JWT authorizer, the
// console's open page routes), each request turned into a version 2.0
// event for the function's adapter; what no route declares is answered
// 404, what the authorizer refuses 401, as API Gateway does.
type fakeGateway struct {
	fn     func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	pool   *fakeCognito
	routes *http.ServeMux // Go patterns → route keys
	keys   map[string]routeOf

	mu         sync.Mutex
	LastBearer string   // the token of the last console request let through
	Paths      []string // every request's path
}

func (g *fakeGateway) lastBearer() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.LastBearer
}

func (g *fakeGateway) paths() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.Paths)
}

type routeOf struct {
	key string
	jwt bool
}

func newFakeGateway(h http.Handler, pool *fakeCognito) *fakeGateway {
	g := &fakeGateway{pool: pool, routes: http.NewServeMux(), keys: map[string]routeOf{}}
	g.fn = httpadapter.NewV2(h).ProxyWithContext
	add := func(key string, jwt bool) {
		method, path, _ := strings.Cut(key, " ")
		pattern := strings.ReplaceAll(path, "{proxy+}", "{proxy...}")
		if pattern == "/" {
			pattern = "/{$}"
		}
		pattern = method + " " + pattern
		g.keys[pattern] = routeOf{key, jwt}
		g.routes.Handle(pattern, http.NotFoundHandler())
	}
	for _, r := range rest.Patterns() {
		method, path, _ := strings.Cut(r, " ")
		add(method+" "+deployed.ConsolePrefix+path, true)
	}
	for _, r := range deployed.ConsolePageRoutes {
		add(r, false)
	}
	return g
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A route's path never ends with a slash; API Gateway matches /a/ to /a.
	m := r.Clone(r.Context())
	if p := m.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		m.URL.Path = strings.TrimSuffix(p, "/")
	}
	g.mu.Lock()
	g.Paths = append(g.Paths, r.URL.Path)
	g.mu.Unlock()
	_, pattern := g.routes.Handler(m)
	rt, ok := g.keys[pattern]
	if !ok || pattern == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	rc := events.APIGatewayV2HTTPRequestContext{
		RouteKey: rt.key, AccountID: "123456789012", APIID: "fakeapi", Stage: "$default", DomainName: r.Host, RequestID: randomToken(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
			SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent()},
	}
	if rt.jwt {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims, ok := g.pool.verify(token)
		// The route's scopes: the token must carry one of them.
		var scopes []string
		if sc, _ := claims["scope"].(string); ok {
			for _, s := range strings.Fields(sc) {
				if slices.Contains(deployed.ConsoleRouteScopes, s) {
					scopes = append(scopes, s)
				}
			}
		}
		if !ok || len(scopes) == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Www-Authenticate", `Bearer scope="" error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Unauthorized"}`)
			return
		}
		g.mu.Lock()
		g.LastBearer = token
		g.mu.Unlock()
		rc.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: flattenClaims(claims), Scopes: strings.Fields(claims["scope"].(string))}}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.key, RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery, Cookies: cookies,
		Headers: headers, QueryStringParameters: query, RequestContext: rc,
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
	}
	res, err := g.fn(r.Context(), ev)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"message":"Internal Server Error"}`)
		return
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	out := []byte(res.Body)
	if res.IsBase64Encoded {
		out, _ = base64.StdEncoding.DecodeString(res.Body)
	}
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

// flattenClaims is what an HTTP API JWT authorizer passes the function: each
// claim a string, a list as "[a b]".
func flattenClaims(claims map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range claims {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatInt(int64(v), 10)
		case []any:
			var s []string
			for _, e := range v {
				s = append(s, fmt.Sprint(e))
			}
			out[k] = "[" + strings.Join(s, " ") + "]"
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}
