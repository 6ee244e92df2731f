package sigv4_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// botocoreSign has botocore (the AWS CLI's library) sign a request and
// prints the headers it set, as JSON.
const botocoreSign = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
method, url, service, body, target = sys.argv[1:6]
req = AWSRequest(method=method, url=url, data=body.encode(), headers={"Content-Type": "application/x-amz-json-1.1"})
if target:
    req.headers["X-Amz-Target"] = target
SigV4Auth(Credentials(sys.argv[6], sys.argv[7]), service, "us-east-1").add_auth(req)
print(json.dumps(dict(req.headers.items())))
`

// TestVerifyAcceptsBotocoresSignatures: what the AWS CLI signs verifies
// (botocore computes its canonical request on its own, in Python).
func TestVerifyAcceptsBotocoresSignatures(t *testing.T) {
	if err := exec.Command("python3", "-c", "import botocore").Run(); err != nil {
		t.Skip("python3 with botocore is not installed")
	}
	v := verifier()
	v.Now = nil // botocore signs at the real time
	srv := newServer(t, v)
	tests := []struct {
		name, method, path, service, body, target string
		tamper                                    func(*http.Request)
		ok                                        bool
	}{
		{"JSON call", "POST", "/", "codepipeline", `{"name":"p"}`, "CodePipeline_20150709.GetPipeline", nil, true},
		{"REST call with a query", "GET", "/v1/pipelines/my%20pipe/executions?maxResults=5&nextToken=a%2Bb", "execute-api", "", "", nil, true},
		{"tampered body", "POST", "/", "codepipeline", `{"name":"p"}`, "CodePipeline_20150709.GetPipeline", func(r *http.Request) { setBody(r, `{"name":"x"}`) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command("python3", "-c", botocoreSign, tt.method, srv.URL+tt.path, tt.service, tt.body, tt.target, keyID, secret).Output()
			if err != nil {
				t.Fatalf("botocore: %v", err)
			}
			var headers map[string]string
			if err := json.Unmarshal(out, &headers); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.body == "" {
				req.Body = http.NoBody
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			if tt.tamper != nil {
				tt.tamper(req)
			}
			_, err = srv.do(t, req)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v (headers %v)", err, tt.ok, headers)
			}
		})
	}
}
