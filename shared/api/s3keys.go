package api

import (
	"context"
	"errors"

	"github.com/stageflow/stageflow/shared/api/s3door"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// s3Keys are the S3 door's keys: the server's own access keys (IDs of their
// shape, service.CheckAccessKeyID), whose requests the service's
// authorization hook decides with the stageflow:*ArtifactObject(s)
// actions, and otherwise the artifact credentials of running jobs
// (jobKeys), exactly as before.
type s3Keys struct{ svc *service.Service }

func (k s3Keys) Lookup(ctx context.Context, accessKeyID string) (s3door.Grant, bool, error) {
	if service.CheckAccessKeyID(accessKeyID) != nil {
		g, ok := jobKeys(k).Lookup(ctx, accessKeyID)
		return g, ok, nil
	}
	vk, ok, err := k.svc.VerifyingKey(ctx, accessKeyID, service.DoorS3)
	if errs.CodeOf(err) == errs.Validation {
		// A server that keeps no access keys (it runs without
		// authentication) knows no such key.
		return s3door.Grant{}, false, nil
	}
	if err != nil || !ok {
		return s3door.Grant{}, false, err
	}
	return s3door.Grant{
		SecretAccessKey: vk.SecretAccessKey,
		Authorize: func(ctx context.Context, op s3door.Op, bucket, key string) error {
			sop, ok := artifactOps[op]
			if !ok {
				return s3Denial{errors.New("Access Denied: the bucket's own operations (DeleteObjects, CreateBucket, DeleteBucket, versioning) are open to no key; delete objects one by one with DeleteObject")}
			}
			err := k.svc.AuthorizeArtifact(service.WithCaller(ctx, vk.Caller), sop, bucket, key)
			if errs.CodeOf(err) == errs.Forbidden {
				return s3Denial{err}
			}
			return err
		},
		Used: func(ctx context.Context) { k.svc.KeyUsed(ctx, accessKeyID) },
	}, true, nil
}

// artifactOps are the service's operations of the door's; the door's
// ManageBucket (DeleteObjects, CreateBucket, versioning, …) has none and is
// refused to every key.
var artifactOps = map[s3door.Op]service.Operation{
	s3door.ReadObject:   service.OpGetArtifactObject,
	s3door.WriteObject:  service.OpPutArtifactObject,
	s3door.DeleteObject: service.OpDeleteArtifactObject,
	s3door.ListBucket:   service.OpListArtifactObjects,
}

// s3Denial is a denial the door answers with AccessDenied and its words.
type s3Denial struct{ error }

func (s3Denial) Denied() bool { return true }

var _ s3door.Denial = s3Denial{}
