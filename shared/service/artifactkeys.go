package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// Artifact credentials are issued per job, and derived rather than stored:
//
//   - the access key ID is JobKeyPrefix followed by the job ID in base32
//     (upper-case letters and digits 2-7, no padding), so the key names its
//     job;
//   - the secret access key and the session token are HMAC-SHA256 of the
//     service's artifact key (Config.ArtifactKey, a random secret the
//     server keeps in its data directory) over a label, the job ID and the
//     job's current nonce, in URL-safe base64.
//
// Nobody without the artifact key can make a job's secret from its ID, and
// a job that goes back to the queue (a continuation) gets a fresh nonce and
// so fresh credentials. LookupArtifactKey, which the S3 door asks for every
// request, honours a key only while its job is held by a worker (Dispatched
// or InProgress, before its deadline), and grants reading the job's input
// artifacts and writing (and deleting) its output artifacts, nothing else:
// once the job has succeeded, failed or timed out its credentials are
// refused.

// JobKeyPrefix starts the access key ID of every job's artifact credentials.
const JobKeyPrefix = "SFJB"

var jobKeyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ArtifactKeySize is the size of Config.ArtifactKey.
const ArtifactKeySize = 32

// ArtifactGrant is what a job's artifact credentials allow.
type ArtifactGrant struct {
	SecretAccessKey, SessionToken string
	// Read and Write are the job's input and output artifacts.
	Read, Write []engine.ArtifactRef
}

// CanRead reports whether the grant may read the object key of bucket.
func (g ArtifactGrant) CanRead(bucket, key string) bool { return holds(g.Read, bucket, key) }

// CanWrite reports whether the grant may write (or delete) the object key
// of bucket.
func (g ArtifactGrant) CanWrite(bucket, key string) bool { return holds(g.Write, bucket, key) }

func holds(refs []engine.ArtifactRef, bucket, key string) bool {
	for _, r := range refs {
		if r.Bucket == bucket && r.Key == key && key != "" {
			return true
		}
	}
	return false
}

// jobCredentials returns job j's artifact credentials; nil when the service
// has no artifact key.
func (s *Service) jobCredentials(j *store.Job) *AWSSessionCredentials {
	if len(s.artifactKey) == 0 {
		return nil
	}
	return &AWSSessionCredentials{
		AccessKeyID:     JobKeyPrefix + jobKeyEncoding.EncodeToString([]byte(j.ID)),
		SecretAccessKey: s.deriveJobSecret("secret-access-key", j),
		SessionToken:    s.deriveJobSecret("session-token", j),
	}
}

func (s *Service) deriveJobSecret(label string, j *store.Job) string {
	m := hmac.New(sha256.New, s.artifactKey)
	for _, part := range []string{"stageflow-artifacts", label, j.ID, j.Nonce} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// LookupArtifactKey returns the grant of an access key ID of artifact
// credentials the service issued, false when the key names no job or its
// job is not held by a worker any more. It is the S3 door's question about
// every request; the request's signature, made with the grant's secret, is
// what authenticates it, so no authorization hook is asked.
func (s *Service) LookupArtifactKey(ctx context.Context, accessKeyID string) (ArtifactGrant, bool) {
	enc, ok := strings.CutPrefix(accessKeyID, JobKeyPrefix)
	if !ok || len(s.artifactKey) == 0 {
		return ArtifactGrant{}, false
	}
	id, err := jobKeyEncoding.DecodeString(enc)
	if err != nil || len(id) == 0 {
		return ArtifactGrant{}, false
	}
	j, err := s.store.GetJob(ctx, string(id))
	if err != nil {
		return ArtifactGrant{}, false
	}
	if j.Status != store.JobDispatched && j.Status != store.JobInProgress {
		return ArtifactGrant{}, false
	}
	if !j.Deadline.IsZero() && !s.now().Before(j.Deadline) {
		return ArtifactGrant{}, false
	}
	var d custom.JobData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return ArtifactGrant{}, false
	}
	c := s.jobCredentials(j)
	return ArtifactGrant{
		SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Read: d.InputArtifacts, Write: d.OutputArtifacts,
	}, true
}
