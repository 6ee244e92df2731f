package sts

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stageflow/stageflow/shared/artifacts/sts/ststest"
	"github.com/stageflow/stageflow/shared/auth"
)

func newIssuer(t *testing.T, f *ststest.Fake, now time.Time) *Issuer {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := awssts.New(awssts.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDAPI", "api-secret", ""),
	})
	iss, err := New(client, "arn:aws:iam::123456789012:role/Stageflow-ArtifactAccess", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

var (
	in  = []Object{{Bucket: "stageflow-artifacts", Key: "app/SourceOut/1a2b.zip"}}
	out = []Object{{Bucket: "stageflow-artifacts", Key: "app/BuildOut/3c4d.zip"}, {Bucket: "stageflow-artifacts", Key: "app/Reports/5e6f.zip"}}
)

func TestIssueAssumesTheRoleForTheJob(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		deadline time.Time
		want     int // DurationSeconds
	}{
		{"no deadline: as long as STS allows", time.Time{}, 3600},
		{"deadline within the hour", now.Add(25 * time.Minute), 1500},
		{"deadline past the hour", now.Add(24 * time.Hour), 3600},
		{"deadline sooner than STS's least", now.Add(time.Minute), 900},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &ststest.Fake{}
			c, err := newIssuer(t, f, now).Issue(t.Context(), "6f1c2b9e-0d4e-4e55-9a51-2b8f1e0c7d3a", tc.deadline, in, out)
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != "ASIATESTKEY" || c.SecretAccessKey != "secret" || c.SessionToken != "token" {
				t.Errorf("credentials %+v", c)
			}
			if want := now.Add(time.Duration(tc.want) * time.Second); !c.Expiration.Equal(want) {
				t.Errorf("expiration %v, want %v", c.Expiration, want)
			}
			if len(f.Calls()) != 1 {
				t.Fatalf("%d calls to STS", len(f.Calls()))
			}
			call := f.Calls()[0]
			for k, want := range map[string]string{
				"Action": "AssumeRole", "RoleArn": "arn:aws:iam::123456789012:role/Stageflow-ArtifactAccess",
				"RoleSessionName": "stageflow-job-6f1c2b9e-0d4e-4e55-9a51-2b8f1e0c7d3a", "DurationSeconds": strconv.Itoa(tc.want),
			} {
				if call[k] != want {
					t.Errorf("%s = %q, want %q", k, call[k], want)
				}
			}
			var p struct {
				Statement []struct {
					Effect   string
					Action   []string
					Resource []string
				}
			}
			if err := json.Unmarshal([]byte(call["Policy"]), &p); err != nil {
				t.Fatalf("policy %q: %v", call["Policy"], err)
			}
			got := fmt.Sprint(p.Statement)
			want := "[{Allow [s3:GetObject] [arn:aws:s3:::stageflow-artifacts/app/SourceOut/1a2b.zip]} " +
				"{Allow [s3:PutObject s3:AbortMultipartUpload] [arn:aws:s3:::stageflow-artifacts/app/BuildOut/3c4d.zip arn:aws:s3:::stageflow-artifacts/app/Reports/5e6f.zip]}]"
			if got != want {
				t.Errorf("session policy statements\n got %s\nwant %s", got, want)
			}
		})
	}
}

// The session policy is a valid IAM policy that allows exactly the job's
// objects: checked with Stageflow's own evaluator of IAM's language.
func TestSessionPolicyAllowsExactlyTheJobsObjects(t *testing.T) {
	doc, err := SessionPolicy("aws", in, out)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auth.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("not a policy IAM's grammar accepts: %v\n%s", err, doc)
	}
	cases := []struct {
		action, resource string
		allowed          bool
	}{
		{"s3:GetObject", "arn:aws:s3:::stageflow-artifacts/app/SourceOut/1a2b.zip", true},
		{"s3:PutObject", "arn:aws:s3:::stageflow-artifacts/app/SourceOut/1a2b.zip", false},
		{"s3:PutObject", "arn:aws:s3:::stageflow-artifacts/app/BuildOut/3c4d.zip", true},
		{"s3:GetObject", "arn:aws:s3:::stageflow-artifacts/app/BuildOut/3c4d.zip", false},
		{"s3:DeleteObject", "arn:aws:s3:::stageflow-artifacts/app/BuildOut/3c4d.zip", false},
		{"s3:GetObject", "arn:aws:s3:::stageflow-artifacts/other/SourceOut/1a2b.zip", false},
		{"s3:ListBucket", "arn:aws:s3:::stageflow-artifacts", false},
	}
	for _, c := range cases {
		if d, _ := auth.Evaluate([]*auth.Policy{pol}, c.action, c.resource, nil); (d == auth.Allowed) != c.allowed {
			t.Errorf("%s on %s: %v, want allowed %v", c.action, c.resource, d, c.allowed)
		}
	}
	none, err := SessionPolicy("aws", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	np, err := auth.Parse([]byte(none))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := auth.Evaluate([]*auth.Policy{np}, "s3:GetObject", "arn:aws:s3:::stageflow-artifacts/app/x.zip", nil); d == auth.Allowed {
		t.Error("a job without artifacts may read one")
	}
}

func TestIssueRefuses(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	long := make([]Object, 30)
	for i := range long {
		long[i] = Object{Bucket: "stageflow-artifacts", Key: fmt.Sprintf("app/Out%02d/%s.zip", i, strings.Repeat("k", 40))}
	}
	cases := []struct {
		name        string
		read, write []Object
		fail        bool
		want        string
	}{
		{"a wildcard in a key", []Object{{Bucket: "b", Key: "app/*"}}, nil, false, "wildcard"},
		{"a policy variable in a key", nil, []Object{{Bucket: "b", Key: "app/${aws:username}"}}, false, "wildcard"},
		{"a question mark in a bucket", []Object{{Bucket: "b?", Key: "k"}}, nil, false, "wildcard"},
		{"no key", []Object{{Bucket: "b"}}, nil, false, "required"},
		{"a policy over STS's length", nil, long, false, "more than STS's 2048"},
		{"STS refuses", in, out, true, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &ststest.Fake{Fail: tc.fail}
			_, err := newIssuer(t, f, now).Issue(t.Context(), "job-1", time.Time{}, tc.read, tc.write)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "job-1") {
				t.Fatalf("error %v, want one naming job-1 and saying %q", err, tc.want)
			}
			if !tc.fail && len(f.Calls()) != 0 {
				t.Errorf("STS was asked for a refused policy")
			}
		})
	}
	if _, err := New(nil, "arn:aws:s3:::bucket", nil); err == nil {
		t.Error("a bucket ARN taken for a role")
	}
}
