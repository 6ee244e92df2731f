package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/errs"
)

// ArtifactArn is the ARN of an object of the artifact bucket, as S3 writes
// it (arn:aws:s3:::<bucket>/<key>); the bucket's own ARN for key "", and
// AllResources for bucket "" (ListBuckets).
func ArtifactArn(bucket, key string) string {
	switch {
	case bucket == "":
		return AllResources
	case key == "":
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// AuthorizeArtifact asks the authorization hook whether the caller in ctx
// may do op (one of the stageflow:*ArtifactObject(s) operations) to the
// object key of bucket (key "" for ListArtifactObjects: the bucket). The S3
// door asks it for requests signed with the server's access keys; the
// denial is the hook's (errs.Forbidden, in IAM's words).
func (s *Service) AuthorizeArtifact(ctx context.Context, op Operation, bucket, key string) error {
	switch op {
	case OpListArtifactObjects:
		if key != "" {
			return errs.Of(errs.Validation, errs.KindArtifact, "%s is asked of a bucket, not of object %q", op, truncate(key, 80))
		}
	case OpGetArtifactObject, OpPutArtifactObject, OpDeleteArtifactObject:
		if bucket == "" || key == "" {
			return errs.Of(errs.Validation, errs.KindArtifact, "%s needs a bucket and an object key", op)
		}
	default:
		return errs.Of(errs.Validation, errs.KindArtifact, "%s is not an operation on artifact objects", op)
	}
	return s.authorize(ctx, op, ArtifactArn(bucket, key))
}
