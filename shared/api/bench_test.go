package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// maxSigningCost is the target: a signed request (SigV4 made by the
// client, verified by the server: key read from the store, secret opened,
// policies evaluated) costs at most this many times the same request on a
// server without authentication, measured in the same run.
const maxSigningCost = 3.0

// BenchmarkSignedRequest measures GET /v1/pipelines/{name} end to end over
// loopback, signed against a server with authentication and unsigned
// against one without, and reports the ratio (signed/unsigned), which must
// stay under maxSigningCost.
func BenchmarkSignedRequest(b *testing.B) {
	signed := apitest.NewServer(b, apitest.WithoutFirstExecution())
	open := apitest.NewServer(b, apitest.WithoutFirstExecution(), apitest.WithoutAuth())
	for _, srv := range []*apitest.Server{signed, open} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/pipelines", stringsReader(pipelineJS))
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("creating the pipeline: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	get := func(srv *apitest.Server, client *http.Client) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			resp, err := client.Get(srv.URL + "/v1/pipelines/p")
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("GET: %v %v", resp, err)
			}
			resp.Body.Close()
		}
		return time.Since(start)
	}
	signedClient, openClient := signed.Client(), open.Client()
	b.ResetTimer()
	s := get(signed, signedClient)
	u := get(open, openClient)
	b.StopTimer()
	ratio := float64(s) / float64(u)
	b.ReportMetric(float64(s.Nanoseconds())/float64(b.N), "ns/signed")
	b.ReportMetric(float64(u.Nanoseconds())/float64(b.N), "ns/unsigned")
	b.ReportMetric(ratio, "signed/unsigned")
	if b.N >= 100 && ratio > maxSigningCost {
		b.Errorf("a signed request costs %.2f× an unsigned one, more than the %.1f× target", ratio, maxSigningCost)
	}
}
