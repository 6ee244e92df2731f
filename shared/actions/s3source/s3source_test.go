package s3source

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

var s3Type = pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: "S3", Version: "1"}

func source(kv ...string) pipeline.Action {
	cfg := map[string]string{"S3Bucket": actiontest.Bucket, "S3ObjectKey": actiontest.ArtifactKey("upload")}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return pipeline.Action{Name: "Fetch", ActionTypeID: s3Type, Configuration: cfg, OutputArtifacts: actiontest.Outputs("Src")}
}

// stored reads the uploaded object's version and ETag as S3 would name them
// here, from its bytes.
func stored(t *testing.T, h *actiontest.Harness, key string) (version, etag string) {
	f, _, err := h.Store.Open(t.Context(), artifacts.Location{Bucket: actiontest.Bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	s, m := sha256.Sum256(b), md5.Sum(b)
	return hex.EncodeToString(s[:])[:32], hex.EncodeToString(m[:])
}

func TestRun(t *testing.T) {
	files := map[string]string{"app/main.go": "package main\n", "README": "hi\n"}
	upload := []actiontest.Input{{Name: "upload", Files: files}}
	withRevisions := func(p *Provider, revs ...engine.SourceRevision) actions.Provider {
		return revisionsProvider{p, revs}
	}
	p := func() actions.Provider { return &Provider{} }
	cases := []actiontest.Case{
		{Name: "the object becomes the output artifact", Action: source(), Inputs: upload, Want: engine.Succeeded,
			Outputs: map[string]map[string]string{"Src": files},
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				v, e := stored(t, h, actiontest.ArtifactKey("upload"))
				if res.OutputVariables["VersionId"] != v || res.OutputVariables["ETag"] != e || len(res.OutputVariables) != 2 {
					t.Errorf("variables %v, want VersionId %s and ETag %s", res.OutputVariables, v, e)
				}
				if res.CurrentRevision == nil || res.CurrentRevision.ID != v || res.CurrentRevision.ChangeIdentifier != e {
					t.Errorf("current revision %+v, want %s/%s", res.CurrentRevision, v, e)
				}
				if !strings.Contains(log, "version "+v) {
					t.Errorf("log %q does not name the version", log)
				}
			}},
		{Name: "missing object", Action: source("S3ObjectKey", "nope/app.zip"), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{"s3://test-artifacts/nope/app.zip"}},
		{Name: "another bucket", Action: source("S3Bucket", "elsewhere"), Inputs: upload, Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{`does not hold bucket "elsewhere"`}},
		{Name: "a key outside the store", Action: source("S3ObjectKey", "../../etc/passwd"), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{"no artifact"}},
		{Name: "no key", Action: source("S3ObjectKey", ""), Want: engine.Failed, Code: engine.CodeConfigurationError, Msg: []string{"S3ObjectKey"}},
		{Name: "a version that is not the object's", Action: source(), Inputs: upload, Want: engine.Failed, Code: engine.CodeConfigurationError,
			Provider: withRevisions(&Provider{}, engine.SourceRevision{Action: "Fetch", Type: "S3_OBJECT_VERSION_ID", Value: "0123"}),
			Msg:      []string{"not 0123", "latest version"}},
		{Name: "a key override refused", Action: source(), Inputs: upload, Want: engine.Failed, Code: engine.CodeConfigurationError,
			Provider: withRevisions(&Provider{}, engine.SourceRevision{Action: "Fetch", Type: "S3_OBJECT_KEY", Value: actiontest.ArtifactKey("upload")}),
			Msg:      []string{"AllowOverrideForS3ObjectKey"}},
		{Name: "a key override allowed", Action: source("AllowOverrideForS3ObjectKey", "true", "S3ObjectKey", "other.zip"), Inputs: upload, Want: engine.Succeeded,
			Provider: withRevisions(&Provider{}, engine.SourceRevision{Action: "Fetch", Type: "S3_OBJECT_KEY", Value: actiontest.ArtifactKey("upload")}),
			Outputs:  map[string]map[string]string{"Src": files}, Check: func(*testing.T, *actiontest.Harness, *engine.Result, string) {}},
		{Name: "a commit ID", Action: source(), Inputs: upload, Want: engine.Failed, Code: engine.CodeConfigurationError,
			Provider: withRevisions(&Provider{}, engine.SourceRevision{Action: "Fetch", Type: "COMMIT_ID", Value: "abc"}),
			Msg:      []string{"not COMMIT_ID"}},
	}
	actiontest.RunCases(t, p, cases)
}

// revisionsProvider runs its provider on the harness's store with the
// execution's source revisions set, as the engine hands them over.
type revisionsProvider struct {
	p    *Provider
	revs []engine.SourceRevision
}

func (r revisionsProvider) Resumable() bool { return false }
func (r revisionsProvider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	job.Run.SourceRevisions = r.revs
	return r.p.Run(ctx, job)
}
