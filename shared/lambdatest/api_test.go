package lambdatest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// apiSamples are the api function's samples and the status of each of
// their events, in order.
var apiSamples = map[string][]int{
	"api.rest-list-pipelines.json":               {http.StatusOK},
	"api.rest-get-pipeline-missing.json":         {http.StatusNotFound},
	"api.codepipeline-list-pipelines.json":       {http.StatusOK},
	"api.codepipeline-get-pipeline-missing.json": {http.StatusBadRequest},
	"api.codepipeline-custom-action-type.json":   {http.StatusOK, http.StatusOK},
}

// readAPISample reads a sample's events, each decoded strictly as the
// Lambda runtime's type of the API Gateway HTTP API's payload format 2.0
// (a field that format does not have fails the test).
func readAPISample(t *testing.T, name string) ([]json.RawMessage, []events.APIGatewayV2HTTPRequest) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := lambdatest.SplitEvents(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var evs []events.APIGatewayV2HTTPRequest
	for i, r := range raw {
		var ev events.APIGatewayV2HTTPRequest
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("%s, event %d: not an API Gateway v2 event: %v", name, i+1, err)
		}
		if ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" || ev.RawPath != ev.RequestContext.HTTP.Path ||
			ev.RouteKey != ev.RequestContext.RouteKey || ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.IAM == nil {
			t.Fatalf("%s, event %d: version, method, path, route key or IAM authorizer missing or inconsistent", name, i+1)
		}
		evs = append(evs, ev)
	}
	return raw, evs
}

// TestAPIMatchesLocalServer: the api bootstrap under the emulator, on
// DynamoDB Local, answers each sample event — both doors: REST routes and
// POST / with X-Amz-Target — with the status the sample expects and the
// same body (and content type) as the local server (apitest: the handler
// `stageflow serve` runs, on SQLite) answers the same request.
func TestAPIMatchesLocalServer(t *testing.T) {
	rie(t)
	c := dynamotest.Client(t)
	for name, statuses := range apiSamples {
		t.Run(name, func(t *testing.T) {
			raw, evs := readAPISample(t, name)
			if len(evs) != len(statuses) {
				t.Fatalf("%d events, %d statuses expected", len(evs), len(statuses))
			}
			refuse, err := lambdatest.RefusingEndpoint()
			if err != nil {
				t.Fatal(err)
			}
			emu := emulator(t, "api", lambdatest.Env(dynamotest.NewTable(t, c), dynamotest.Endpoint(t), refuse))
			// The samples are IAM-authorized events: the api function takes
			// their caller from API Gateway's context (deployed.Gateway), a
			// principal with no Stageflow policy keeping what IAM allowed.
			// The local server answers the same without authentication
			// (their signatures are placeholders).
			local := apitest.NewServer(t, apitest.WithoutAuth())
			for i, ev := range evs {
				out, err := emu.Invoke(t.Context(), raw[i])
				if err != nil {
					t.Fatalf("event %d: %v", i+1, err)
				}
				var res events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("event %d: the answer is no API Gateway v2 response: %v: %s", i+1, err, out)
				}
				body := res.Body
				if res.IsBase64Encoded {
					b, err := base64.StdEncoding.DecodeString(body)
					if err != nil {
						t.Fatal(err)
					}
					body = string(b)
				}
				status, ctype, want := send(t, local.URL, ev)
				if res.StatusCode != statuses[i] || res.StatusCode != status {
					t.Errorf("event %d: status %d under the emulator, %d locally; want %d (body %s)", i+1, res.StatusCode, status, statuses[i], body)
				}
				if got := res.Headers["Content-Type"]; got != ctype {
					t.Errorf("event %d: content type %q under the emulator, %q locally", i+1, got, ctype)
				}
				if !sameJSON(body, want) {
					t.Errorf("event %d: bodies differ:\nemulator: %s\nlocal:    %s", i+1, body, want)
				}
			}
		})
	}
}

// send makes the request of ev to the local server at base.
func send(t *testing.T, base string, ev events.APIGatewayV2HTTPRequest) (int, string, string) {
	t.Helper()
	url := base + ev.RawPath
	if ev.RawQueryString != "" {
		url += "?" + ev.RawQueryString
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), ev.RequestContext.HTTP.Method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Headers {
		if k != "host" && k != "content-length" {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// sameJSON compares two JSON documents by value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}
