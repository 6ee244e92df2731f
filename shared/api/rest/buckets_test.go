package rest

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/service"
)

func TestRESTBuckets(t *testing.T) {
	env := newRESTEnv(t)
	var made service.Bucket
	env.ok("POST", "/v1/buckets", map[string]any{"name": "releases", "endpoint": "https://s3.example:9000", "region": "eu-west-1",
		"pathStyle": true, "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "SECRET-access-1"}, 201, &made)
	if made.Arn != "arn:aws:s3:::releases" || made.Endpoint != "https://s3.example:9000" || made.Region != "eu-west-1" ||
		!made.PathStyle || made.AccessKeyID != "AKIDEXAMPLE" || !made.HasSecretKey {
		t.Fatalf("created %+v", made)
	}
	for _, path := range []string{"/v1/buckets", "/v1/buckets/releases"} {
		_, _, data := env.do("GET", path, nil)
		if s := string(data); strings.Contains(s, "SECRET-access-1") || !strings.Contains(s, `"hasSecretAccessKey":true`) {
			t.Fatalf("GET %s shows %s", path, s)
		}
	}
	var list RESTBuckets
	env.ok("GET", "/v1/buckets", nil, 200, &list)
	if len(list.Buckets) != 1 || list.Buckets[0] != made {
		t.Fatalf("list = %+v", list)
	}
	env.ok("DELETE", "/v1/buckets/releases", nil, 204, nil)
	env.ok("GET", "/v1/buckets", nil, 200, &list)
	if len(list.Buckets) != 0 {
		t.Fatalf("after deleting, list = %+v", list)
	}

	env.ok("POST", "/v1/buckets", map[string]string{"name": "again", "endpoint": "http://127.0.0.1:9000", "accessKeyId": "k", "secretAccessKey": "s"}, 201, nil)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, problem      string
	}{
		{"http elsewhere", "POST", "/v1/buckets", map[string]string{"name": "b-1", "endpoint": "http://s3.example", "accessKeyId": "k", "secretAccessKey": "s"}, 400, "ValidationException", "~loopback"},
		{"bad name", "POST", "/v1/buckets", map[string]string{"name": "Bad_Name", "endpoint": "https://s3.example", "accessKeyId": "k", "secretAccessKey": "s"}, 400, "ValidationException", "~bucket name"},
		{"no secret", "POST", "/v1/buckets", `{"name":"b-1","endpoint":"https://s3.example","accessKeyId":"k"}`, 400, "ValidationException", ""},
		{"unknown field", "POST", "/v1/buckets", `{"name":"b-1","endpoint":"https://s3.example","accessKeyId":"k","secretAccessKey":"s","token":"x"}`, 400, "ValidationException", ""},
		{"empty body", "POST", "/v1/buckets", nil, 400, "ValidationException", ""},
		{"twice", "POST", "/v1/buckets", map[string]string{"name": "again", "endpoint": "http://127.0.0.1:9000", "accessKeyId": "k", "secretAccessKey": "s"}, 409, "ConflictException", ""},
		{"get unknown", "GET", "/v1/buckets/nope", nil, 404, "ResourceNotFoundException", ""},
		{"delete unknown", "DELETE", "/v1/buckets/nope", nil, 404, "ResourceNotFoundException", ""},
		{"bad name in the path", "GET", "/v1/buckets/a%20b", nil, 400, "ValidationException", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			restExpectError(t, env, tc.method, tc.path, tc.body, tc.status, tc.code, tc.problem)
		})
	}
}
