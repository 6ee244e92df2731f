package api_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/service"
)

// TestFailedSignaturesAreThrottled: with the server's default limit, the
// eleventh failed signature of a key from one address within a minute is
// answered 429
// ThrottlingException with Retry-After (the S3 door: 503 SlowDown) without
// being checked, on every door, while other keys go on; requests naming no
// key are counted per address.
func TestFailedSignaturesAreThrottled(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	victim := srv.NewKey("victim", apitest.Builtin("AWSCodePipeline_ReadOnlyAccess"))
	wrong := srv.ClientOf(aws.Credentials{AccessKeyID: victim.AccessKeyID, SecretAccessKey: "not-" + victim.SecretAccessKey})
	cp := func(client *http.Client) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+"ListPipelines")
		req.Header.Set("Content-Type", cpdoor.ContentType)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("the CodePipeline door's %d answer names no request (x-amzn-RequestId)", resp.StatusCode)
		}
		return resp
	}
	rest := func(client *http.Client) *http.Response {
		resp, err := client.Get(srv.URL + "/v1/pipelines")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := 0; i < 10; i++ {
		call := cp
		if i%2 == 1 {
			call = rest
		}
		if resp := call(wrong); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("failure %d: %d, want 403", i+1, resp.StatusCode)
		}
	}
	for name, call := range map[string]func(*http.Client) *http.Response{"CodePipeline": cp, "REST": rest} {
		resp := call(wrong)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s door after 10 failures: %d (Retry-After %q), want 429 with Retry-After", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// The right secret of the throttled key waits too: nothing of the key
	// is checked until its window ends.
	if resp := rest(srv.ClientOf(victim)); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the throttled key with its secret: %d, want 429", resp.StatusCode)
	}
	// From another address the key is not throttled: failing with a key's
	// ID (which is no secret) does not lock its owner out.
	elsewhere := srv.ClientOf(victim)
	elsewhere.Transport.(*awssign.Transport).Base = &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	if resp := rest(elsewhere); resp.StatusCode != http.StatusOK {
		t.Errorf("the key from another address: %d, want 200", resp.StatusCode)
	}
	resp, err := srv.ClientOf(victim).Get(srv.URL + "/" + "stageflow-artifacts/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("the S3 door for the throttled key: %d, want 503 SlowDown", resp.StatusCode)
	}
	if resp := rest(srv.Client()); resp.StatusCode != http.StatusOK {
		t.Errorf("another key: %d, want 200", resp.StatusCode)
	}
	// Unsigned requests count against their address.
	for i := 0; i < 10; i++ {
		if resp := rest(&http.Client{}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("unsigned %d: %d, want 403", i+1, resp.StatusCode)
		}
	}
	if resp := rest(&http.Client{}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the eleventh unsigned request: %d, want 429", resp.StatusCode)
	}
}

// TestKeysLastUse: a verified request records its key's last use, which
// the key listing shows; a key never used shows none.
func TestKeysLastUse(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	idle := srv.NewKey("idle", apitest.Builtin("AWSCodePipeline_ReadOnlyAccess"))
	resp, err := srv.Client().Get(srv.URL + "/v1/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	keys, err := srv.Service.ListAccessKeys(service.LocalCaller(t.Context(), "test"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, k := range keys {
		switch k.AccessKeyID {
		case srv.Admin.AccessKeyID:
			seen++
			if k.LastUsed.IsZero() {
				t.Errorf("the admin key's last use is not recorded")
			}
		case idle.AccessKeyID:
			seen++
			if !k.LastUsed.IsZero() {
				t.Errorf("a key never used shows a last use %v", k.LastUsed)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("listed %d of the 2 keys: %+v", seen, keys)
	}
}

// TestOversizeBodiesAreRefusedUnread: a body announced larger than the
// doors take is refused (413) before anything is checked or served, signed
// or not, on a route that reads no body too.
func TestOversizeBodiesAreRefusedUnread(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	for _, path := range []string{"/v1/pipelines", "/"} {
		for name, client := range map[string]*http.Client{"unsigned": {}, "signed": srv.Client()} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, strings.NewReader(strings.Repeat("x", 2<<20)))
			if path == "/" {
				req.Method = http.MethodPost
				req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+"ListPipelines")
				req.Header.Set("Content-Type", cpdoor.ContentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with a 2 MiB body: %d, want 413", name, path, resp.StatusCode)
			}
		}
	}
}
