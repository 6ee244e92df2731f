package cpdoor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

func sourceType(provider string) *types.ActionTypeId {
	return &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerCustom, Provider: aws.String(provider), Version: aws.String("1")}
}

// revisionsServer starts a server with a pipeline of a custom source action
// (Source/Fetch, making Src) and a custom deploy action taking Src
// (Deploy/Ship), each served by the test as a job worker.
func revisionsServer(t *testing.T, ctx context.Context, name string) (*apitest.Server, *codepipeline.Client) {
	t.Helper()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: types.ActionCategorySource, Provider: aws.String("StageflowTestSource"), Version: aws.String("1"),
		InputArtifactDetails:  &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 0},
		OutputArtifactDetails: &types.ArtifactDetails{MinimumCount: 1, MaximumCount: 1},
	}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	createWorkerType(t, ctx, cp, "StageflowTestShip")
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Source"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Fetch"), ActionTypeId: sourceType("StageflowTestSource"),
				OutputArtifacts: []types.OutputArtifact{{Name: aws.String("Src")}},
			}}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Ship"), ActionTypeId: workerType("StageflowTestShip"),
				InputArtifacts: []types.InputArtifact{{Name: aws.String("Src")}},
			}}},
		},
	}})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	return srv, cp
}

// summaryOf returns the ListPipelineExecutions row of an execution.
func summaryOf(t *testing.T, ctx context.Context, cp *codepipeline.Client, name, id string) types.PipelineExecutionSummary {
	t.Helper()
	out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	for _, s := range out.PipelineExecutionSummaries {
		if aws.ToString(s.PipelineExecutionId) == id {
			return s
		}
	}
	t.Fatalf("ListPipelineExecutions: no row for %s", id)
	return types.PipelineExecutionSummary{}
}

func sourceRevisionsText(list []types.SourceRevision) string {
	var parts []string
	for _, s := range list {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", aws.ToString(s.ActionName), aws.ToString(s.RevisionId), aws.ToString(s.RevisionSummary)))
	}
	return strings.Join(parts, " ")
}

// TestSDKRevisions: a custom source action's worker reports the revision it
// fetched with PutJobSuccessResult's currentRevision; the execution shows it
// as its artifact revision and source revision, the action's state as its
// current revision, and the next job gets it on its input artifact. A
// revision asked for at start reaches the list before the source reports.
func TestSDKRevisions(t *testing.T) {
	ctx := testContext(t)
	const name = "sdk-revisions"
	_, cp := revisionsServer(t, ctx, name)

	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{
		Name: aws.String(name),
		SourceRevisions: []types.SourceRevisionOverride{
			{ActionName: aws.String("Fetch"), RevisionType: types.SourceRevisionTypeCommitId, RevisionValue: aws.String("4f2a9c1")},
		},
	})
	if err != nil {
		t.Fatalf("StartPipelineExecution with sourceRevisions: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)

	job := pollJob(t, ctx, cp, sourceType("StageflowTestSource"))
	row := summaryOf(t, ctx, cp, name, execID)
	if got := sourceRevisionsText(row.SourceRevisions); got != "Fetch=4f2a9c1()" {
		t.Errorf("sourceRevisions before the source reported = %q, want the override Fetch=4f2a9c1()", got)
	}
	if row.ExecutionMode != types.ExecutionModeSuperseded || row.StopTrigger != nil {
		t.Errorf("row executionMode %q stopTrigger %+v, want SUPERSEDED and none", row.ExecutionMode, row.StopTrigger)
	}
	acknowledge(t, ctx, cp, job)
	created := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId: job.Id,
		CurrentRevision: &types.CurrentRevision{
			Revision: aws.String("4f2a9c1"), ChangeIdentifier: aws.String("2026-11-30T09:15:00Z"),
			Created: aws.Time(created), RevisionSummary: aws.String("Fix the build"),
		},
	}); err != nil {
		t.Fatalf("PutJobSuccessResult with currentRevision: %v", err)
	}

	ship := pollJob(t, ctx, cp, workerType("StageflowTestShip"))
	if in := ship.Data.InputArtifacts; len(in) != 1 || aws.ToString(in[0].Revision) != "4f2a9c1" {
		t.Errorf("the deploy job's input artifacts = %+v, want Src at revision 4f2a9c1", in)
	}
	acknowledge(t, ctx, cp, ship)
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: ship.Id}); err != nil {
		t.Fatalf("PutJobSuccessResult: %v", err)
	}
	pe := waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusSucceeded)

	if len(pe.ArtifactRevisions) != 1 {
		t.Fatalf("artifactRevisions = %+v, want one (Src)", pe.ArtifactRevisions)
	}
	ar := pe.ArtifactRevisions[0]
	if aws.ToString(ar.Name) != "Src" || aws.ToString(ar.RevisionId) != "4f2a9c1" ||
		aws.ToString(ar.RevisionChangeIdentifier) != "2026-11-30T09:15:00Z" || aws.ToString(ar.RevisionSummary) != "Fix the build" ||
		ar.Created == nil || !ar.Created.Equal(created) {
		t.Errorf("artifactRevisions[0] = name %q id %q change %q summary %q created %v", aws.ToString(ar.Name), aws.ToString(ar.RevisionId),
			aws.ToString(ar.RevisionChangeIdentifier), aws.ToString(ar.RevisionSummary), ar.Created)
	}

	state, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetPipelineState: %v", err)
	}
	revs := map[string]*types.ActionRevision{}
	for _, st := range state.StageStates {
		for _, as := range st.ActionStates {
			revs[aws.ToString(st.StageName)+"/"+aws.ToString(as.ActionName)] = as.CurrentRevision
		}
	}
	if r := revs["Source/Fetch"]; r == nil || aws.ToString(r.RevisionId) != "4f2a9c1" || aws.ToString(r.RevisionChangeId) != "2026-11-30T09:15:00Z" ||
		r.Created == nil || !r.Created.Equal(created) {
		t.Errorf("Source/Fetch currentRevision = %+v", r)
	}
	if r := revs["Deploy/Ship"]; r != nil {
		t.Errorf("Deploy/Ship reported no revision, but its currentRevision = %+v", r)
	}

	row = summaryOf(t, ctx, cp, name, execID)
	if got := sourceRevisionsText(row.SourceRevisions); got != "Fetch=4f2a9c1(Fix the build)" {
		t.Errorf("sourceRevisions = %q, want Fetch=4f2a9c1(Fix the build)", got)
	}

	// A second execution, without overrides, stopped while its source
	// waits: no revisions, and the row says why it stopped.
	second, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	secondID := aws.ToString(second.PipelineExecutionId)
	pollJob(t, ctx, cp, sourceType("StageflowTestSource"))
	if _, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{
		PipelineName: aws.String(name), PipelineExecutionId: aws.String(secondID), Abandon: true, Reason: aws.String("wrong branch"),
	}); err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	pe = waitExecution(t, ctx, cp, name, secondID, types.PipelineExecutionStatusStopped)
	if len(pe.ArtifactRevisions) != 0 {
		t.Errorf("the stopped execution's artifactRevisions = %+v, want none", pe.ArtifactRevisions)
	}
	row = summaryOf(t, ctx, cp, name, secondID)
	if row.StopTrigger == nil || aws.ToString(row.StopTrigger.Reason) != "wrong branch" || len(row.SourceRevisions) != 0 {
		t.Errorf("the stopped execution's row: stopTrigger %+v sourceRevisions %q", row.StopTrigger, sourceRevisionsText(row.SourceRevisions))
	}
}

// TestSDKSourceRevisionsRefused: malformed or misdirected sourceRevisions
// are refused with a ValidationException naming the problem, and start
// nothing.
func TestSDKSourceRevisionsRefused(t *testing.T) {
	ctx := testContext(t)
	const name = "sdk-revisions-refused"
	_, cp := revisionsServer(t, ctx, name)
	override := func(action, typ, value string) types.SourceRevisionOverride {
		return types.SourceRevisionOverride{ActionName: aws.String(action), RevisionType: types.SourceRevisionType(typ), RevisionValue: aws.String(value)}
	}
	many := make([]types.SourceRevisionOverride, 51)
	for i := range many {
		many[i] = override("Fetch", "COMMIT_ID", fmt.Sprint(i))
	}
	for _, c := range []struct {
		name string
		list []types.SourceRevisionOverride
		want []string
	}{
		{"unknown action", []types.SourceRevisionOverride{override("Fecth", "COMMIT_ID", "abc")},
			[]string{"sourceRevisions[0].actionName", `no action named "Fecth" (did you mean "Fetch"?)`}},
		{"not a source action", []types.SourceRevisionOverride{override("Ship", "COMMIT_ID", "abc")},
			[]string{"sourceRevisions[0].actionName", `"Ship" is a Deploy action`}},
		{"unknown type", []types.SourceRevisionOverride{override("Fetch", "BRANCH", "main")},
			[]string{"sourceRevisions[0].revisionType", "COMMIT_ID"}},
		{"empty value", []types.SourceRevisionOverride{override("Fetch", "COMMIT_ID", "")},
			[]string{"sourceRevisions[0].revisionValue"}},
		{"value too long", []types.SourceRevisionOverride{override("Fetch", "COMMIT_ID", strings.Repeat("a", 1501))},
			[]string{"sourceRevisions[0].revisionValue", "1501"}},
		{"bad action name", []types.SourceRevisionOverride{override("Fetch now", "COMMIT_ID", "abc")},
			[]string{"sourceRevisions[0].actionName"}},
		{"type twice", []types.SourceRevisionOverride{override("Fetch", "COMMIT_ID", "abc"), override("Fetch", "COMMIT_ID", "def")},
			[]string{"sourceRevisions[1].revisionType", "sourceRevisions[0]"}},
		{"too many", many, []string{"sourceRevisions", "51"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name), SourceRevisions: c.list})
			wantAPIError(t, err, "ValidationException")
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	if n := len(out.PipelineExecutionSummaries); n != 0 {
		t.Errorf("refused starts made %d executions", n)
	}
	// An S3 source may be given an object key and a version together; the
	// request token names them with the request.
	start := func(list ...types.SourceRevisionOverride) (string, error) {
		out, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{
			Name: aws.String(name), ClientRequestToken: aws.String("revisions-1"), SourceRevisions: list,
		})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.PipelineExecutionId), nil
	}
	first, err := start(override("Fetch", "S3_OBJECT_KEY", "src.zip"), override("Fetch", "S3_OBJECT_VERSION_ID", "v7"))
	if err != nil {
		t.Fatalf("StartPipelineExecution with a key and a version: %v", err)
	}
	if again, err := start(override("Fetch", "S3_OBJECT_KEY", "src.zip"), override("Fetch", "S3_OBJECT_VERSION_ID", "v7")); err != nil || again != first {
		t.Errorf("the same request again: %q, %v; want %q", again, err, first)
	}
	_, err = start(override("Fetch", "S3_OBJECT_KEY", "src.zip"), override("Fetch", "S3_OBJECT_VERSION_ID", "v8"))
	wantAPIError(t, err, "ValidationException")
	if !strings.Contains(err.Error(), "other parameters (sourceRevisions)") {
		t.Errorf("the token with other sourceRevisions: %v", err)
	}
	if got := sourceRevisionsText(summaryOf(t, ctx, cp, name, first).SourceRevisions); got != "Fetch=v7()" {
		t.Errorf("sourceRevisions of a key and a version = %q, want the version Fetch=v7()", got)
	}
}

// TestCurrentRevisionRefused: a malformed currentRevision fails
// PutJobSuccessResult, names the problem and leaves the job with its worker.
func TestCurrentRevisionRefused(t *testing.T) {
	ctx := testContext(t)
	const name = "revision-refused"
	srv, cp := revisionsServer(t, ctx, name)
	if _, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	job := pollJob(t, ctx, cp, sourceType("StageflowTestSource"))
	acknowledge(t, ctx, cp, job)
	id := aws.ToString(job.Id)
	for _, c := range []struct {
		name, revision, wantType string
		want                     []string
	}{
		{"no change identifier", `{"revision": "abc"}`, "ValidationException", []string{"currentRevision.changeIdentifier"}},
		{"empty revision", `{"revision": "", "changeIdentifier": "c"}`, "ValidationException", []string{"currentRevision.revision"}},
		{"revision too long", `{"revision": "` + strings.Repeat("r", 1501) + `", "changeIdentifier": "c"}`, "ValidationException", []string{"currentRevision.revision", "1501"}},
		{"change identifier too long", `{"revision": "abc", "changeIdentifier": "` + strings.Repeat("c", 101) + `"}`, "ValidationException", []string{"currentRevision.changeIdentifier", "101"}},
		{"summary too long", `{"revision": "abc", "changeIdentifier": "c", "revisionSummary": "` + strings.Repeat("s", 2049) + `"}`, "ValidationException", []string{"currentRevision.revisionSummary"}},
		{"created not a time", `{"revision": "abc", "changeIdentifier": "c", "created": "yesterday"}`, "SerializationException", []string{"currentRevision.created"}},
		{"created in the year 31 million", `{"revision": "abc", "changeIdentifier": "c", "created": 1e15}`, "SerializationException", []string{"currentRevision.created", "1e15"}},
		{"unknown member", `{"revision": "abc", "changeIdentifier": "c", "branch": "main"}`, "ValidationException", []string{"branch"}},
		{"with a continuation token", `{"revision": "abc", "changeIdentifier": "c"}, "continuationToken": "more"`, "ValidationException", []string{"currentRevision", "continuationToken"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := `{"jobId": "` + id + `", "currentRevision": ` + c.revision + `}`
			if !json.Valid([]byte(body)) {
				t.Fatalf("test body is not JSON: %s", body)
			}
			r := rawCall(t, srv.Client(), srv.URL, http.MethodPost, target+"PutJobSuccessResult", "application/x-amz-json-1.1", []byte(body))
			if r.status != http.StatusBadRequest || r.errorType != c.wantType {
				t.Fatalf("status %d %s %q, want 400 %s", r.status, r.errorType, r.message, c.wantType)
			}
			for _, w := range c.want {
				if !strings.Contains(r.message, w) {
					t.Errorf("message %q does not say %q", r.message, w)
				}
			}
		})
	}
	// The worker still holds the job and ends it properly.
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id,
		CurrentRevision: &types.CurrentRevision{Revision: aws.String("abc"), ChangeIdentifier: aws.String("c")}}); err != nil {
		t.Fatalf("PutJobSuccessResult after the refusals: %v", err)
	}
	ship := pollJob(t, ctx, cp, workerType("StageflowTestShip"))
	if in := ship.Data.InputArtifacts; len(in) != 1 || aws.ToString(in[0].Revision) != "abc" {
		t.Errorf("the deploy job's input artifacts = %+v, want revision abc", in)
	}
}
