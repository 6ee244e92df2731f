package lambdatest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/cfnprovider"
	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// providerSamples are the provider's events in the order they are
// invoked, with the answer each must PUT: status and physical ID.
var providerSamples = map[string]struct {
	order          int
	status, physID string
}{
	"provider.create.json":         {0, cfnprovider.Success, "app"},
	"provider.update.json":         {1, cfnprovider.Success, "app"},
	"provider.update-replace.json": {2, cfnprovider.Success, "app-v2"},
	"provider.delete.json":         {3, cfnprovider.Success, "app"},
}

// TestProviderSamples runs the provider's bootstrap under the emulator on
// DynamoDB Local, its ResponseURL a loopback server: the samples' Create,
// Update, replacement and Delete in turn, then the Create again (the name
// is free once more) and a Create of the name the replacement took by
// another logical ID, which FAILs; each PUT body is checked field by field.
func TestProviderSamples(t *testing.T) {
	rie(t)
	c := dynamotest.Client(t)
	// A Step Functions that accepts every start and stop: the first
	// executions CreatePipeline starts and the stops of DeletePipeline.
	sfnAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:stageflow:x", "startDate": 1}`)
	}))
	defer sfnAPI.Close()
	fn := emulator(t, "provider", lambdatest.Env(dynamotest.NewTable(t, c), dynamotest.Endpoint(t), sfnAPI.URL))
	puts := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPut || r.Header.Get("Content-Type") != "" {
			t.Errorf("%s with Content-Type %q; want PUT with an empty content type", r.Method, r.Header.Get("Content-Type"))
		}
		puts <- body
	}))
	defer srv.Close()

	names := make([]string, len(providerSamples))
	for name, s := range providerSamples {
		names[s.order] = name
	}
	type step struct {
		file, status, physID, logical string
	}
	var steps []step
	for _, n := range names {
		steps = append(steps, step{n, providerSamples[n].status, providerSamples[n].physID, "Pipeline"})
	}
	steps = append(steps, step{"provider.create.json", cfnprovider.Success, "app", "Pipeline"},
		step{"provider.create.json", cfnprovider.Failed, "failed-", "Other"})
	for i, s := range steps {
		data, err := os.ReadFile(filepath.Join(moduleRoot(t), "events", s.file))
		if err != nil {
			t.Fatal(err)
		}
		var req map[string]any
		if err := json.Unmarshal(data, &req); err != nil {
			t.Fatal(err)
		}
		req["ResponseURL"], req["LogicalResourceId"] = srv.URL+"/response", s.logical
		if s.logical != "Pipeline" {
			req["RequestId"] = "other-request"
		}
		in, _ := json.Marshal(req)
		out, err := fn.Invoke(t.Context(), in)
		if err != nil || string(out) != "null" {
			t.Fatalf("step %d (%s): answered %s, %v", i, s.file, out, err)
		}
		body := <-puts
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatal(err)
		}
		if fields["Status"] != s.status || !strings.HasPrefix(fields["PhysicalResourceId"].(string), s.physID) ||
			fields["StackId"] != req["StackId"] || fields["RequestId"] != req["RequestId"] || fields["LogicalResourceId"] != s.logical {
			t.Errorf("step %d (%s as %s): PUT %s", i, s.file, s.logical, body)
		}
		if s.status == cfnprovider.Failed && !strings.Contains(fields["Reason"].(string), `"app" already exists`) {
			t.Errorf("step %d: Reason %v", i, fields["Reason"])
		}
		if s.status == cfnprovider.Success && s.file != "provider.delete.json" {
			data, _ := fields["Data"].(map[string]any)
			if data["Name"] != s.physID || data["Arn"] != "arn:aws:codepipeline:"+lambdatest.LocalRegion+":"+lambdatest.LocalAccount+":"+s.physID {
				t.Errorf("step %d: Data %v", i, data)
			}
		}
	}
}
