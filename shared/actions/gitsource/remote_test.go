package gitsource

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

func TestMask(t *testing.T) {
	cases := []struct {
		name   string
		remote Remote
		msg    string
		want   string
	}{
		{name: "token", remote: Remote{URL: "https://h/x.git", Token: "tok/en+1"}, msg: "bad tok/en+1 and tok%2Fen%2B1",
			want: "bad *** and ***"},
		{name: "URL password", remote: Remote{URL: "https://u:pw%3Dx@h/x.git"}, msg: `Get "https://u:pw=x@h/x.git": pw=x`,
			want: `Get "https://***@h/x.git": ***`},
		{name: "any URL credentials", remote: Remote{URL: "https://h/x.git"}, msg: "see HTTPS://other:thing@elsewhere/",
			want: "see HTTPS://***@elsewhere/"},
		{name: "ssh user stays", remote: Remote{URL: "git@github.com:octo/app.git"}, msg: "ssh: git@github.com:octo/app.git refused",
			want: "ssh: git@github.com:octo/app.git refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSource(tc.remote)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.mask(tc.msg); got != tc.want {
				t.Errorf("mask(%q) = %q, want %q", tc.msg, got, tc.want)
			}
			if strings.Contains(s.display, "@h") {
				t.Errorf("display %q keeps credentials", s.display)
			}
		})
	}
}

func TestNewSource(t *testing.T) {
	cases := []struct{ in, url string }{
		{"git@github.com:octo/app.git", "git@github.com:octo/app.git"},
		{"github.com:octo/app.git", "git@github.com:octo/app.git"},
		{"ssh://deploy@h:2222/x.git", "ssh://deploy@h:2222/x.git"},
		{"file:///srv/git/x", "file:///srv/git/x"},
		{"/srv/git/../git/x", "/srv/git/x"},
		{"https://u:p@h/x.git", "https://h/x.git"},
		// refused
		{"", ""}, {"relative/path", ""}, {"ext::sh -c evil", ""}, {"file://otherhost/x", ""}, {"ftp://h/x", ""},
		{"https://h/x\nInjected: 1", ""}, {"-oProxyCommand=evil:x", ""}, {"h::x", ""},
	}
	for _, tc := range cases {
		s, err := newSource(Remote{URL: tc.in})
		switch {
		case tc.url == "" && err == nil:
			t.Errorf("newSource(%q) accepted as %q", tc.in, s.url)
		case tc.url != "" && err != nil:
			t.Errorf("newSource(%q): %v", tc.in, err)
		case tc.url != "" && s.url != tc.url:
			t.Errorf("newSource(%q) = %q, want %q", tc.in, s.url, tc.url)
		}
	}
}

// TestTokenSentAndMasked fetches from a real HTTP server that wants the
// token and answers with an error that quotes it.
func TestTokenSentAndMasked(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, user+":"+pass)
		mu.Unlock()
		http.Error(w, "token "+pass+" is not allowed", http.StatusForbidden)
	}))
	defer srv.Close()
	cases := []struct {
		name   string
		remote Remote
		auth   string
	}{
		{name: "token, default user", remote: Remote{URL: srv.URL + "/octo/app.git", Token: "sekr1t"}, auth: "x-access-token:sekr1t"},
		{name: "username and token", remote: Remote{URL: srv.URL + "/octo/app.git", Username: "bot", Token: "sekr1t"}, auth: "bot:sekr1t"},
		{name: "password in the URL", remote: Remote{URL: strings.Replace(srv.URL, "http://", "http://me:sekr1t@", 1) + "/octo/app.git"}, auth: "me:sekr1t"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			p := &Provider{Sources: &resolver{remote: tc.remote}, CacheDir: t.TempDir()}
			got := runJob(t, p, ProviderConnection, connConfig("main"), nil)
			if got.result.Status != engine.Failed || got.result.ErrorCode != engine.CodeJobFailed {
				t.Fatalf("result %+v", got.result)
			}
			if strings.Contains(got.result.ErrorMessage+got.log, "sekr1t") {
				t.Errorf("token shown:\n%s\n%s", got.result.ErrorMessage, got.log)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 || seen[0] != tc.auth {
				t.Errorf("server saw %q, want %q", seen, tc.auth)
			}
		})
	}
}
