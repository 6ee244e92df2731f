// Package s3source is the provider of the S3 source action (AWS/S3,
// category Source) on the embedded system: it takes the zip at S3Bucket /
// S3ObjectKey of Stageflow's own artifact store (what `aws s3 cp … --endpoint-url`
// puts there through the S3 door) as the action's output artifact.
//
// CodePipeline needs a versioned bucket and reports the object's version;
// the local artifact store keeps only each key's latest object, so an
// object's version here is its content: VersionId is the first 32 hex
// digits of its SHA-256, ETag its MD5 in hex (S3's ETag of an object
// uploaded in one part). A StartPipelineExecution override of
// S3_OBJECT_VERSION_ID runs only when it names the object as it is now;
// S3_OBJECT_KEY takes another key when the action's
// AllowOverrideForS3ObjectKey is "true".
//
// A bucket that Buckets knows lives at another S3-compatible endpoint and
// is read there with the AWS SDK's S3 client: the object's own VersionId
// (its ETag on a bucket without versioning) and ETag, an
// S3_OBJECT_VERSION_ID override reading that version.
package s3source

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Objects opens stored objects (artifacts.Store).
type Objects interface {
	Open(ctx context.Context, loc artifacts.Location) (*os.File, int64, error)
}

// Provider serves AWS/S3 source actions. A run reads from its job's
// artifact store (Job.Artifacts, which must be Objects); Objects is the
// store Head reads from.
type Provider struct {
	Objects Objects
	// Buckets, when set, names the buckets at other endpoints.
	Buckets Buckets
}

var _ actions.Provider = (*Provider)(nil)

// Resumable: a run is a copy made within Run; nothing outlives the process.
func (*Provider) Resumable() bool { return false }

// Object is what the provider found at a location.
type Object struct {
	Location  artifacts.Location
	VersionID string
	ETag      string
}

// Stat reads the object at loc and returns its version and ETag.
func (p *Provider) Stat(ctx context.Context, loc artifacts.Location) (Object, error) {
	f, _, err := p.Objects.Open(ctx, loc)
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	return identify(loc, f)
}

func identify(loc artifacts.Location, r io.Reader) (Object, error) {
	sh, m := sha256.New(), md5.New()
	if _, err := io.Copy(io.MultiWriter(sh, m), r); err != nil {
		return Object{}, fmt.Errorf("reading s3://%s/%s: %w", loc.Bucket, loc.Key, err)
	}
	return Object{Location: loc, VersionID: hex.EncodeToString(sh.Sum(nil))[:32], ETag: hex.EncodeToString(m.Sum(nil))}, nil
}

// Head is the object's version now (the poller's Heads for S3 actions).
func (p *Provider) Head(ctx context.Context, a pipeline.Action) (string, error) {
	loc := artifacts.Location{Bucket: a.Configuration["S3Bucket"], Key: a.Configuration["S3ObjectKey"]}
	r, ok, err := p.remote(ctx, loc.Bucket)
	if err != nil {
		return "", err
	}
	if ok {
		o, err := headRemote(ctx, r, loc.Bucket, loc.Key)
		return o.versionID, err
	}
	o, err := p.Stat(ctx, loc)
	return o.VersionID, err
}

// remote looks bucket up in Buckets: ok false for the artifact store's.
func (p *Provider) remote(ctx context.Context, bucket string) (Remote, bool, error) {
	if p.Buckets == nil {
		return Remote{}, false, nil
	}
	r, ok, err := p.Buckets.BucketRemote(ctx, bucket)
	if err != nil {
		return Remote{}, false, fmt.Errorf("the bucket %s: %w", bucket, err)
	}
	return r, ok, nil
}

// Run copies the object into each output artifact.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	cfg := job.Run.Configuration
	loc := artifacts.Location{Bucket: cfg["S3Bucket"], Key: cfg["S3ObjectKey"]}
	if loc.Bucket == "" || loc.Key == "" {
		return actions.Failed(engine.CodeConfigurationError, "an S3 source action needs S3Bucket and S3ObjectKey")
	}
	var wantVersion string
	for _, r := range job.Run.SourceRevisions {
		switch r.Type {
		case "S3_OBJECT_KEY":
			if !strings.EqualFold(cfg["AllowOverrideForS3ObjectKey"], "true") {
				return actions.Failed(engine.CodeConfigurationError,
					"the execution overrides S3ObjectKey with %q, but the action's AllowOverrideForS3ObjectKey is not \"true\"", r.Value)
			}
			loc.Key = r.Value
		case "S3_OBJECT_VERSION_ID":
			wantVersion = r.Value
		default:
			return actions.Failed(engine.CodeConfigurationError, "an S3 source takes S3_OBJECT_KEY and S3_OBJECT_VERSION_ID revisions, not %s", r.Type)
		}
	}
	remote, ok, err := p.remote(ctx, loc.Bucket)
	if err != nil {
		return actions.Failed(engine.CodeConfigurationError, "%v", err)
	}
	if ok {
		return runRemote(ctx, job, remote, loc.Bucket, loc.Key, wantVersion)
	}
	objects, ok := job.Artifacts.(Objects)
	if !ok {
		return actions.Failed(engine.CodeConfigurationError, "an S3 source reads Stageflow's own artifact store, which this runner does not have")
	}
	f, _, err := objects.Open(ctx, loc)
	if err != nil {
		return actions.Failed(engine.CodeConfigurationError, "the source object s3://%s/%s: %v", loc.Bucket, loc.Key, err)
	}
	defer f.Close()
	obj, err := identify(loc, f)
	if err != nil {
		return actions.Failed(engine.CodeJobFailed, "%v", err)
	}
	if wantVersion != "" && wantVersion != obj.VersionID {
		return actions.Failed(engine.CodeConfigurationError,
			"s3://%s/%s is at version %s, not %s: Stageflow's artifact store keeps only an object's latest version", loc.Bucket, loc.Key, obj.VersionID, wantVersion)
	}
	fmt.Fprintf(job.Log, "source: s3://%s/%s, version %s, ETag %s\n", loc.Bucket, loc.Key, obj.VersionID, obj.ETag)
	for _, out := range job.Run.OutputArtifacts {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return actions.Failed(engine.CodeJobFailed, "reading s3://%s/%s: %v", loc.Bucket, loc.Key, err)
		}
		if err := job.Artifacts.Upload(ctx, out.Bucket, out.Key, f); err != nil {
			return actions.Failed(engine.CodeJobFailed, "storing the output artifact %s: %v", out.Name, err)
		}
	}
	return &engine.Result{
		Status:          engine.Succeeded,
		Summary:         fmt.Sprintf("s3://%s/%s", loc.Bucket, loc.Key),
		OutputVariables: map[string]string{"ETag": obj.ETag, "VersionId": obj.VersionID},
		CurrentRevision: &engine.Revision{ID: obj.VersionID, ChangeIdentifier: obj.ETag},
	}
}
