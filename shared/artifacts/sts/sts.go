// Package sts issues a job's artifact credentials when deployed: an STS
// session of the artifact access role (infra declares it, assumable by the
// api function alone) whose session policy allows exactly the job's input
// objects to be read and its output objects to be written, and which
// expires with the job (at most an hour: a session assumed from a Lambda
// function's role lasts no longer). Artifacts never pass through Lambda
// payloads: job workers move them with these credentials, as CodePipeline's
// do with theirs.
package sts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// API is the one STS call the issuer makes (*sts.Client satisfies it).
type API interface {
	AssumeRole(ctx context.Context, in *awssts.AssumeRoleInput, opts ...func(*awssts.Options)) (*awssts.AssumeRoleOutput, error)
}

// Object is an artifact's S3 object.
type Object struct{ Bucket, Key string }

// Credentials are a job's temporary artifact credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// STS's bounds: sessions last 15 minutes at least, an hour at most when
// assumed from a role's session (role chaining); a session policy's
// plaintext takes at most 2,048 characters.
const (
	MinDuration     = 15 * time.Minute
	MaxDuration     = time.Hour
	MaxPolicyLength = 2048
)

// Issuer assumes the artifact access role for jobs.
type Issuer struct {
	api       API
	role      string
	partition string
	now       func() time.Time
}

// New makes an Issuer of sessions of roleARN; now defaults to the wall clock.
func New(api API, roleARN string, now func() time.Time) (*Issuer, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return nil, fmt.Errorf("artifact access role %q is not an IAM role ARN", roleARN)
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{api: api, role: roleARN, partition: a.Partition, now: now}, nil
}

// NewFromConfig makes an Issuer of sessions of roleARN with an STS client
// of the AWS configuration.
func NewFromConfig(cfg aws.Config, roleARN string) (*Issuer, error) {
	return New(awssts.NewFromConfig(cfg), roleARN, nil)
}

// Issue returns credentials for job jobID allowed to read read and write
// write, lasting until deadline (zero: as long as STS allows), within STS's
// bounds.
func (i *Issuer) Issue(ctx context.Context, jobID string, deadline time.Time, read, write []Object) (*Credentials, error) {
	policy, err := SessionPolicy(i.partition, read, write)
	if err != nil {
		return nil, fmt.Errorf("artifact credentials of job %s: %w", jobID, err)
	}
	d := MaxDuration
	if !deadline.IsZero() {
		d = min(max(deadline.Sub(i.now()), MinDuration), MaxDuration)
	}
	out, err := i.api.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn:         aws.String(i.role),
		RoleSessionName: aws.String(sessionName(jobID)),
		Policy:          aws.String(policy),
		DurationSeconds: aws.Int32(int32(d / time.Second)),
	})
	if err != nil {
		return nil, fmt.Errorf("artifact credentials of job %s: assuming %s: %w", jobID, i.role, err)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil {
		return nil, fmt.Errorf("artifact credentials of job %s: STS answered no credentials", jobID)
	}
	return &Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken,
		Expiration: aws.ToTime(c.Expiration)}, nil
}

// sessionName is STS's role session name for a job ([\w+=,.@-], 2..64):
// it shows in CloudTrail which job used the credentials.
func sessionName(jobID string) string {
	name := "stageflow-job-" + notInSessionName.ReplaceAllString(jobID, "-")
	return name[:min(len(name), 64)]
}

var notInSessionName = regexp.MustCompile(`[^\w+=,.@-]`)

// errWildcard refuses an object whose name IAM would read as a pattern.
var errWildcard = errors.New("contains a character IAM reads as a wildcard or a policy variable (*, ?, $)")

// SessionPolicy is the session policy of a job's credentials: s3:GetObject
// on each object of read; s3:PutObject and s3:AbortMultipartUpload on
// each of write (the SDKs upload large artifacts in parts); nothing else —
// a session policy only narrows the role's own, so the session can never do
// more than the role either. A job with no artifacts gets a policy that
// allows nothing. Object names are taken literally: one with a character
// IAM reads as a pattern is refused rather than let widen the grant.
func SessionPolicy(partition string, read, write []Object) (string, error) {
	type statement struct {
		Effect   string
		Action   []string
		Resource []string
	}
	arns := func(objs []Object) ([]string, error) {
		var out []string
		for _, o := range objs {
			if o.Bucket == "" || o.Key == "" {
				return nil, fmt.Errorf("artifact object %q in bucket %q: bucket and key are required", o.Key, o.Bucket)
			}
			if strings.ContainsAny(o.Bucket+o.Key, "*?$") {
				return nil, fmt.Errorf("artifact object %q in bucket %q %w", o.Key, o.Bucket, errWildcard)
			}
			out = append(out, fmt.Sprintf("arn:%s:s3:::%s/%s", partition, o.Bucket, o.Key))
		}
		return out, nil
	}
	var stmts []statement
	r, err := arns(read)
	if err != nil {
		return "", err
	}
	if len(r) > 0 {
		stmts = append(stmts, statement{Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: r})
	}
	w, err := arns(write)
	if err != nil {
		return "", err
	}
	if len(w) > 0 {
		stmts = append(stmts, statement{Effect: "Allow", Action: []string{"s3:PutObject", "s3:AbortMultipartUpload"}, Resource: w})
	}
	if len(stmts) == 0 {
		stmts = []statement{{Effect: "Deny", Action: []string{"s3:*"}, Resource: []string{"*"}}}
	}
	b, err := json.Marshal(struct {
		Version   string
		Statement []statement
	}{"2012-10-17", stmts})
	if err != nil {
		return "", err
	}
	if len(b) > MaxPolicyLength {
		return "", fmt.Errorf("the session policy for %d input and %d output artifacts takes %d characters, more than STS's %d",
			len(read), len(write), len(b), MaxPolicyLength)
	}
	return string(b), nil
}
