package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// The deployed console in a browser: the api function's handler
// (deployed.NewAPIHandler, the Cognito sign-in configured) behind a fake
// HTTP API (fakeGateway: the routes infra declares, the JWT authorizer's
// checks, v2 events), signing in at a fake of the user pool's hosted UI and
// token endpoint (fakeCognito). The service is the embedded one (the
// deployed store and driver need AWS), with access control as deployed:
// the caller API Gateway established, the policies of its groups.

const (
	cognitoRegion  = "us-east-1"
	cognitoAccount = "123456789012"
	cognitoPool    = "us-east-1_Console01"
	cognitoClient  = "5consoleclient0000000000ab"
)

type deployedConsole struct {
	pool *fakeCognito
	gw   *fakeGateway
	url  string // the HTTP API's URL
	sys  *embedded.System
}

func startDeployedConsole(t *testing.T, users ...fakeUser) *deployedConsole {
	t.Helper()
	pool := newFakeCognito("https://cognito-idp."+cognitoRegion+".amazonaws.com/"+cognitoPool, cognitoClient, users...)
	cognito := httptest.NewServer(pool)
	t.Cleanup(cognito.Close)
	pool.Origin = cognito.URL
	var svc *service.Service
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), Region: cognitoRegion, Account: cognitoAccount, NoFirstExecution: true,
		Authorize: service.NewPolicyAuthorizer(deployed.GatewayPolicies(func(ctx context.Context, p string) ([]*auth.Policy, error) {
			return svc.PrincipalPolicies(ctx, service.Caller{Principal: p, Verified: true})
		}))})
	if err != nil {
		t.Fatal(err)
	}
	svc = sys.Service
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Close(ctx)
	})
	d, err := pipeline.Load([]byte(consoleDemo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(service.LocalCaller(context.Background(), "test"), d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	h, err := deployed.NewAPIHandler(sys.Service, deployed.Gateway{Region: cognitoRegion, Account: cognitoAccount, UserPoolID: cognitoPool},
		deployed.Config{ConsoleDomain: cognito.URL, ConsoleClientID: cognitoClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := newFakeGateway(h, pool)
	api := httptest.NewServer(gw)
	t.Cleanup(api.Close)
	// The app client's callback and sign-out URL: the console on the API.
	pool.Callbacks = []string{api.URL + "/console/"}
	return &deployedConsole{pool: pool, gw: gw, url: api.URL, sys: sys}
}

// TestConsoleCognitoBrowser: opening the deployed console's address, a
// user signs in at the hosted UI (code grant with PKCE, the state checked),
// sees the pipelines list, starts a pipeline and watches it by polling (no
// stream deployed), keeps working after the access token is refreshed, and
// signs out (the refresh token revoked, the hosted UI's session ended).
func TestConsoleCognitoBrowser(t *testing.T) {
	dc := startDeployedConsole(t, fakeUser{Name: "alice", Groups: []string{"StageflowDeployers"}})
	// Tokens that expire a minute and two seconds after they are issued:
	// auth.js refreshes a minute early, so every two seconds here.
	dc.pool.Lifetime = 62 * time.Second
	b := newBrowserTest(t, nil, "cognito")

	b.run("opening the API's address", chromedp.Navigate(dc.url+"/"), visible(`#signin`),
		poll(`document.getElementById('who').textContent === 'Not signed in'`))
	b.screenshot("signed-out")

	b.run("going to the hosted UI", chromedp.Click(chromedp.CSS(`#signin`)), visible(`#username`))
	dc.pool.mu.Lock()
	q := dc.pool.Authorizes[len(dc.pool.Authorizes)-1]
	dc.pool.mu.Unlock()
	if q.Get("response_type") != "code" || q.Get("client_id") != cognitoClient || q.Get("redirect_uri") != dc.url+"/console/" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 16 ||
		q.Get("scope") != "openid email profile" {
		t.Fatalf("the authorize request: %v", q)
	}

	signInAtHostedUI(b, "alice")
	who := eval[string](b, "reading who is signed in", `document.getElementById('who').textContent`)
	if want := "arn:aws:cognito-idp:" + cognitoRegion + ":" + cognitoAccount + ":userpool/" + cognitoPool + "/user/alice"; !strings.Contains(who, want) {
		t.Fatalf("the console says %q, want %s", who, want)
	}
	type kept struct {
		Search, Tokens string
		Local          int
		SignOut        bool
	}
	k := eval[kept](b, "reading what the page keeps", `({Search: location.search, Tokens: sessionStorage.getItem('stageflow.tokens') || '',
		Local: localStorage.length, SignOut: !document.getElementById('signout').hidden})`)
	if k.Search != "" || !strings.Contains(k.Tokens, `"refresh"`) || k.Local != 0 || !k.SignOut {
		t.Fatalf("after signing in: %+v; want the code gone from the address, the tokens in sessionStorage only, a sign-out button", k)
	}
	b.screenshot("list")

	// The access token is refreshed before it expires; requests carry the new one.
	deadline := time.Now().Add(30 * time.Second)
	for !dc.pool.refreshed() {
		if time.Now().After(deadline) {
			t.Fatal("the page did not refresh its access token")
		}
		time.Sleep(50 * time.Millisecond)
	}

	b.run("opening console-demo", chromedp.Navigate(dc.url+"/console/#/pipelines/console-demo"), visible(`#start`))
	if by := dc.pool.grantOf(dc.gw.lastBearer()); by != "refresh_token" {
		t.Fatalf("the page's last request carried a token of the %q grant, want a refreshed one", by)
	}
	b.run("starting", chromedp.Click(chromedp.CSS(`#start`)), visible(`#confirm`), chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		poll(`document.getElementById('live')?.textContent === 'Live: checking every 2 s'`),
		visible(`.card[data-action="Package"][data-status="Succeeded"]`))
	b.screenshot("pipeline")
	for _, p := range dc.gw.paths() {
		if strings.HasSuffix(p, "/events") {
			t.Fatalf("the page asked for the event stream (%s): deployed it must poll", p)
		}
	}

	b.run("signing out", chromedp.Click(chromedp.CSS(`#signout`)), visible(`#signin`))
	if n, revoked := dc.pool.signedOut(); n != 1 || revoked == 0 {
		t.Fatalf("signing out: %d logouts, %d tokens revoked; want the hosted UI's logout and the refresh token revoked", n, revoked)
	}
	if left := eval[string](b, "reading the tokens", `sessionStorage.getItem('stageflow.tokens') || ''`); left != "" {
		t.Fatalf("the tokens outlived signing out: %s", left)
	}
}

// signInAtHostedUI fills the hosted UI's form the page sent the browser
// to, and waits for the console to be back, signed in.
func signInAtHostedUI(b *browserTest, user string) {
	b.t.Helper()
	b.run("signing in", chromedp.SendKeys(chromedp.CSS(`#username`), user), chromedp.Click(chromedp.CSS(`#submit`)),
		visible(`tr[data-pipeline="console-demo"]`),
		poll(`document.getElementById('who').textContent.startsWith('Signed in as')`))
}

// TestConsoleCognitoSessionEnds: when the refresh token is refused (revoked
// elsewhere, expired), the page says the session has ended and offers to
// sign in again, its tokens forgotten.
func TestConsoleCognitoSessionEnds(t *testing.T) {
	dc := startDeployedConsole(t, fakeUser{Name: "alice", Groups: []string{"StageflowReadOnly"}})
	dc.pool.Lifetime = 62 * time.Second
	b := newBrowserTest(t, nil, "cognito-ends")
	b.run("opening the console", chromedp.Navigate(dc.url+"/console/"), visible(`#signin`), chromedp.Click(chromedp.CSS(`#signin`)), visible(`#username`))
	signInAtHostedUI(b, "alice")
	dc.pool.mu.Lock()
	for token := range dc.pool.refreshes {
		dc.pool.revoked[token] = true
	}
	dc.pool.mu.Unlock()
	b.run("waiting for the refresh to be refused",
		poll(`document.getElementById('main').textContent.includes('The session has ended: sign in again.')`), visible(`#signin`),
		poll(`document.getElementById('who').textContent === 'Not signed in' && document.getElementById('signout').hidden`))
	if left := eval[string](b, "reading the tokens", `sessionStorage.getItem('stageflow.tokens') || ''`); left != "" {
		t.Fatalf("the refused tokens were kept: %s", left)
	}
}

// TestConsoleCognitoStateChecked: a code the page did not ask for (the
// state differs, or none was sent) is never exchanged; the gateway answers
// no console request without a valid access token of the pool.
func TestConsoleCognitoStateChecked(t *testing.T) {
	dc := startDeployedConsole(t, fakeUser{Name: "alice", Groups: []string{"StageflowReadOnly"}})
	b := newBrowserTest(t, nil, "cognito-state")
	b.run("a forged return from the hosted UI", chromedp.Navigate(dc.url+"/console/?code=forged&state=wrong"),
		poll(`document.getElementById('main').textContent.includes('does not match a sign-in this tab started')`),
		visible(`#signin`))
	if s := eval[string](b, "reading the address", `location.search`); s != "" {
		t.Fatalf("the forged code stayed in the address: %s", s)
	}
	b.run("an error from the hosted UI", chromedp.Navigate(dc.url+"/console/?error=access_denied&error_description=no"),
		poll(`document.getElementById('main').textContent.includes('Sign-in failed: access_denied')`))
	dc.pool.mu.Lock()
	grants, refused := len(dc.pool.Grants), len(dc.pool.Refused)
	dc.pool.mu.Unlock()
	if grants != 0 || refused != 0 {
		t.Fatalf("the token endpoint was asked %d times (%d refused), want never", grants, refused)
	}

	other := newFakeCognito(dc.pool.Issuer, cognitoClient, fakeUser{Name: "alice", Groups: []string{"StageflowAdmins"}})
	other.mu.Lock()
	forged := other.jwt("alice", "access")
	other.mu.Unlock()
	dc.pool.mu.Lock()
	idToken := dc.pool.jwt("alice", "id")
	dc.pool.mu.Unlock()
	for name, token := range map[string]string{"no token": "", "a token of another key": forged, "an ID token (no scope)": idToken} {
		req, _ := http.NewRequest(http.MethodGet, dc.url+"/console/v1/pipelines", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401 from the authorizer", name, resp.StatusCode)
		}
	}
}
