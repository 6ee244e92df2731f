package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
)

// Remote is an S3 bucket at another S3-compatible endpoint and the
// credentials that read it.
type Remote struct {
	Endpoint, Region string
	PathStyle        bool
	AccessKeyID      string
	SecretAccessKey  string
}

// Buckets tells which buckets live at other endpoints. BucketRemote
// answers ok false for a bucket it does not know: the action then reads
// Stageflow's own artifact store.
type Buckets interface {
	BucketRemote(ctx context.Context, bucket string) (r Remote, ok bool, err error)
}

func (r Remote) client() *s3.Client {
	return s3.New(s3.Options{
		Region:       r.Region,
		BaseEndpoint: aws.String(r.Endpoint),
		UsePathStyle: r.PathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(r.AccessKeyID, r.SecretAccessKey, ""),
		// S3-compatible servers do not all know the SDK's newer checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// remoteObject is what GetObject or HeadObject told of an object.
type remoteObject struct {
	versionID, etag string
	versioned       bool // the bucket gave a version ID
}

func objectOf(versionID, etag *string) remoteObject {
	o := remoteObject{etag: strings.Trim(aws.ToString(etag), `"`)}
	if v := aws.ToString(versionID); v != "" && v != "null" {
		o.versionID, o.versioned = v, true
	} else {
		// A bucket without versioning: the ETag stands for the version.
		o.versionID = o.etag
	}
	return o
}

// s3Error describes an SDK error naming the object, never the secret, and
// tells whether it is the configuration's fault (a missing bucket, key or
// version, refused credentials) rather than a passing failure.
func s3Error(r Remote, bucket, key, version string, err error) (msg string, config bool) {
	what := fmt.Sprintf("s3://%s/%s at %s", bucket, key, r.Endpoint)
	if version != "" {
		what += " (version " + version + ")"
	}
	text := err.Error()
	if r.SecretAccessKey != "" {
		text = strings.ReplaceAll(text, r.SecretAccessKey, "****")
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusNotFound:
			return what + ": not found: " + text, true
		case code == http.StatusForbidden || code == http.StatusUnauthorized:
			return what + ": access denied (check the bucket's access key ID and secret: stageflow bucket create): " + text, true
		case code >= 400 && code < 500:
			return what + ": " + text, true
		}
	}
	return what + ": " + text, false
}

func failS3(r Remote, bucket, key, version string, err error) *engine.Result {
	msg, config := s3Error(r, bucket, key, version, err)
	code := engine.CodeJobFailed
	if config {
		code = engine.CodeConfigurationError
	}
	return actions.Failed(code, "%s", msg)
}

// headRemote is the object's latest version (the ETag on a bucket without
// versioning).
func headRemote(ctx context.Context, r Remote, bucket, key string) (remoteObject, error) {
	out, err := r.client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		msg, _ := s3Error(r, bucket, key, "", err)
		return remoteObject{}, errors.New(msg)
	}
	return objectOf(out.VersionId, out.ETag), nil
}

// runRemote reads the object from its endpoint into each output artifact.
// wantVersion, when set, is a version ID; on a bucket without versioning
// only the current object's ETag names a version.
func runRemote(ctx context.Context, job *actions.Job, r Remote, bucket, key, wantVersion string) *engine.Result {
	c := r.client()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if wantVersion != "" {
		in.VersionId = aws.String(wantVersion)
	}
	out, err := c.GetObject(ctx, in)
	if err != nil && wantVersion != "" {
		// Perhaps a bucket without versioning, where the version is the
		// ETag: the current object, if it is that one.
		if head, herr := headRemote(ctx, r, bucket, key); herr == nil && !head.versioned && head.etag == wantVersion {
			out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: aws.String(`"` + wantVersion + `"`)})
		}
	}
	if err != nil {
		return failS3(r, bucket, key, wantVersion, err)
	}
	defer out.Body.Close()
	obj := objectOf(out.VersionId, out.ETag)
	if wantVersion != "" && obj.versionID != wantVersion {
		return actions.Failed(engine.CodeConfigurationError, "s3://%s/%s at %s answered version %s, not %s",
			bucket, key, r.Endpoint, obj.versionID, wantVersion)
	}
	f, err := os.CreateTemp(job.WorkDir, "s3source-*.zip")
	if err != nil {
		return actions.Failed(engine.CodeJobFailed, "a temporary file for s3://%s/%s: %v", bucket, key, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, out.Body); err != nil {
		return failS3(r, bucket, key, wantVersion, err)
	}
	note := ""
	if !obj.versioned {
		note = " (the bucket keeps no versions: the ETag stands for the version)"
	}
	fmt.Fprintf(job.Log, "source: s3://%s/%s at %s, version %s, ETag %s%s\n", bucket, key, r.Endpoint, obj.versionID, obj.etag, note)
	for _, o := range job.Run.OutputArtifacts {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return actions.Failed(engine.CodeJobFailed, "reading s3://%s/%s: %v", bucket, key, err)
		}
		if err := job.Artifacts.Upload(ctx, o.Bucket, o.Key, f); err != nil {
			return actions.Failed(engine.CodeJobFailed, "storing the output artifact %s: %v", o.Name, err)
		}
	}
	return &engine.Result{
		Status:          engine.Succeeded,
		Summary:         fmt.Sprintf("s3://%s/%s", bucket, key),
		OutputVariables: map[string]string{"ETag": obj.etag, "VersionId": obj.versionID},
		CurrentRevision: &engine.Revision{ID: obj.versionID, ChangeIdentifier: obj.etag},
	}
}
