package sqlite

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

// The executions of testdata/executions-0379141.sql, as commit 0379141 (the
// release before revisions were kept) stored them: a succeeded one whose
// custom source action reported a revision that was dropped then, its
// ended runs partly moved out to execution_runs, and a stopped one.
const (
	fixtureSucceeded = "3c032913-68b9-48a4-9ac3-f6bb77d94040"
	fixtureStopped   = "031d3068-b62c-41a4-b5d8-70b62e533f1b"
)

// loadFixture makes a database holding the fixture's rows and opens it.
func loadFixture(t *testing.T) (*Store, string) {
	t.Helper()
	dump, err := os.ReadFile("testdata/executions-0379141.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := tempPath(t)
	// The schema of that release (5 migrations), then today's.
	s := openTest(t, path, options{migrations: migrations[:5]})
	if _, err := s.db.ExecContext(t.Context(), string(dump)); err != nil {
		t.Fatalf("loading the fixture: %v", err)
	}
	s.Close()
	return openTest(t, path, options{}), path
}

// Executions written before revisions were kept read back as executions
// without any, and take the new fields from then on.
func TestExecutionsOfThePreviousRelease(t *testing.T) {
	s, path := loadFixture(t)
	ctx := t.Context()

	done, err := s.GetExecution(ctx, fixtureSucceeded)
	if err != nil {
		t.Fatalf("reading the succeeded execution: %v", err)
	}
	if done.Status != engine.Succeeded || len(done.Actions) != 6 || done.PipelineName != "fixture" {
		t.Fatalf("succeeded execution: status %s, %d runs, pipeline %q", done.Status, len(done.Actions), done.PipelineName)
	}
	fetch, ok := done.LatestRun("Source", "Fetch")
	if !ok || fetch.Status != engine.Succeeded || fetch.OutputVariables["CommitId"] != "4f2a9c1" || fetch.Summary != "fetched 4f2a9c1" {
		t.Fatalf("the source run: %+v", fetch)
	}
	if fetch.CurrentRevision != nil || fetch.SourceRevisions != nil || fetch.OutputArtifacts[0].Revision != "" || done.SourceRevisions != nil {
		t.Errorf("an execution of the previous release reads with revisions: %+v", fetch)
	}
	for _, r := range done.Actions {
		if r.Status != engine.Succeeded || r.StartTime.IsZero() || r.EndTime.IsZero() {
			t.Errorf("run %s/%s: %s, %v..%v", r.Stage, r.Action, r.Status, r.StartTime, r.EndTime)
		}
	}
	stopped, err := s.GetExecution(ctx, fixtureStopped)
	if err != nil {
		t.Fatalf("reading the stopped execution: %v", err)
	}
	if stopped.Status != engine.Stopped || stopped.Stop == nil || stopped.Stop.Reason != "superseded by hand" || !stopped.Stop.Abandon {
		t.Fatalf("stopped execution: status %s, stop %+v", stopped.Status, stopped.Stop)
	}

	// Rows of that release carry no listing (the service reads their
	// records instead); a row gets one at its next write.
	listing := func(id string) *store.Listing {
		t.Helper()
		rows, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "fixture"}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.ID == id {
				return r.Listing
			}
		}
		t.Fatalf("no row of %s", id)
		return nil
	}
	if l := listing(fixtureStopped); l != nil {
		t.Errorf("a row of the previous release lists %+v", l)
	}
	// Executions of that release, before lanes, are in lane "" (the
	// pipeline's only lane): their records say so, and so do their rows
	// once written again.
	if done.Lane != "" || stopped.Lane != "" {
		t.Errorf("executions of the previous release read in lanes %q and %q", done.Lane, stopped.Lane)
	}

	// The new fields are written and read back, on an old record.
	created := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	stopped.SourceRevisions = []engine.SourceRevision{{Action: "Fetch", Type: "COMMIT_ID", Value: "9e8d7c6"}}
	stopped.Actions = append(stopped.Actions, engine.ActionRun{
		ID: "retry-fetch", Stage: "Source", Action: "Fetch", RunOrder: 1, Attempt: 2, Type: fetch.Type, Token: "retry-token",
		Status: engine.Succeeded, SourceRevisions: stopped.SourceRevisions,
		OutputArtifacts: []engine.ArtifactRef{{Name: "Src", Bucket: "b", Key: "k", Revision: "9e8d7c6"}},
		CurrentRevision: &engine.Revision{ID: "9e8d7c6", ChangeIdentifier: "2026-11-30T09:15:00Z", Summary: "Retry", Created: created},
		StartTime:       created, LastUpdateTime: created, EndTime: created,
	})
	if err := s.UpdateExecution(ctx, stopped); err != nil {
		t.Fatalf("updating an execution of the previous release: %v", err)
	}
	if l := listing(fixtureStopped); l == nil || l.Stop == nil || l.Stop.Reason != "superseded by hand" || len(l.SourceRevisions) != 1 || l.Lane != "" {
		t.Errorf("the row after a write lists %+v", l)
	}
	s.Close()
	s = openTest(t, path, options{})
	again, err := s.GetExecution(ctx, fixtureStopped)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(storetest.Normalized(again), storetest.Normalized(stopped)) {
		t.Fatalf("the execution with revisions reads back differently:\n got %+v\nwant %+v", again, stopped)
	}
	r, _ := again.Run("retry-fetch")
	if r.CurrentRevision == nil || *r.CurrentRevision != *stopped.Actions[len(stopped.Actions)-1].CurrentRevision {
		t.Errorf("currentRevision read back as %+v", r.CurrentRevision)
	}
}

// A database of the previous release migrates to today's schema and then
// holds access keys and principals' policies beside its executions, across
// a reopen.
func TestPreviousReleaseHoldsAccessKeys(t *testing.T) {
	s, path := loadFixture(t)
	ctx := t.Context()
	if v := userVersion(t, s.db); v != len(migrations) {
		t.Fatalf("the fixture's database is at schema version %d, want %d", v, len(migrations))
	}
	created := time.Date(2026, 12, 1, 8, 0, 0, 123, time.UTC)
	key := &store.AccessKey{ID: "SFAKFIXTUREFIXTURE23", User: "admin", Description: "made after the upgrade",
		Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}, {Name: "StageflowFullAccess"}},
		Secret:   []byte{0x00, 0xff, 0x10, 0x80}, Created: created}
	if err := s.CreateAccessKey(ctx, key); err != nil {
		t.Fatalf("creating a key in an upgraded database: %v", err)
	}
	if err := s.TouchAccessKey(ctx, key.ID, created.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	const principal = "arn:aws:iam::123456789012:role/deployer"
	if err := s.PutPrincipalPolicies(ctx, &store.PrincipalPolicies{Principal: principal,
		Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_ReadOnlyAccess"}}, Updated: created}); err != nil {
		t.Fatalf("attaching policies in an upgraded database: %v", err)
	}
	s.Close()

	s = openTest(t, path, options{})
	got, err := s.GetAccessKey(ctx, key.ID)
	if err != nil {
		t.Fatalf("reading the key after a reopen: %v", err)
	}
	want := *key
	want.LastUsed = created.Add(time.Minute)
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("the key reads back as %+v, want %+v", got, &want)
	}
	pol, err := s.GetPrincipalPolicies(ctx, principal)
	if err != nil || len(pol.Policies) != 1 || pol.Policies[0].Name != "AWSCodePipeline_ReadOnlyAccess" || !pol.Updated.Equal(created) {
		t.Fatalf("the principal's policies read back as %+v, %v", pol, err)
	}
	// The executions of the previous release are still there.
	if _, err := s.GetExecution(ctx, fixtureSucceeded); err != nil {
		t.Fatalf("the fixture's execution after adding keys: %v", err)
	}
}

// A database of the previous release migrates and then holds stage locks,
// written together with its executions, across a reopen.
func TestPreviousReleaseHoldsLocks(t *testing.T) {
	s, path := loadFixture(t)
	ctx := t.Context()
	if got, err := s.GetPipelineLocks(ctx, "fixture"); err != nil || got.Version != 0 || got.Lanes != nil {
		t.Fatalf("the fixture's pipeline before any lock: %+v, %v", got, err)
	}
	stopped, err := s.GetExecution(ctx, fixtureStopped)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	locks := &engine.PipelineLocks{Pipeline: "fixture", Lanes: map[string]*engine.LaneLocks{"": {Stages: map[string]*engine.StageLock{
		"Build": {Holder: &engine.Holder{ExecutionID: fixtureStopped, Mode: "QUEUED", Started: stopped.StartTime, Since: since}},
	}}}}
	stopped.StatusSummary = "held Build after the upgrade"
	if err := s.UpdateLocks(ctx, locks, []*engine.Execution{stopped}); err != nil {
		t.Fatalf("writing locks in an upgraded database: %v", err)
	}
	s.Close()

	s = openTest(t, path, options{})
	got, err := s.GetPipelineLocks(ctx, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	h := got.Lanes[""].Stages["Build"].Holder
	if got.Version != 1 || h == nil || h.ExecutionID != fixtureStopped || !h.Since.Equal(since) || !h.Started.Equal(stopped.StartTime) {
		t.Fatalf("the locks read back as %+v (holder %+v)", got, h)
	}
	again, err := s.GetExecution(ctx, fixtureStopped)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != stopped.Version || again.StatusSummary != "held Build after the upgrade" {
		t.Fatalf("the execution written with the locks reads back at version %d with %q", again.Version, again.StatusSummary)
	}
}

// A database the previous release wrote (no webhooks table) takes webhooks
// once migrated, and keeps them across a reopen.
func TestPreviousReleaseHoldsWebhooks(t *testing.T) {
	s, path := loadFixture(t)
	ctx := t.Context()
	if list, _, err := s.ListWebhooks(ctx, store.Page{}); err != nil || len(list) != 0 {
		t.Fatalf("webhooks of the fixture: %v, %v", list, err)
	}
	w := &store.Webhook{Name: "hook", URLID: "abc", Definition: []byte(`{"name":"hook"}`), Secret: []byte{1, 2}}
	if err := s.PutWebhook(ctx, w); err != nil {
		t.Fatalf("writing a webhook in an upgraded database: %v", err)
	}
	s.Close()
	s = openTest(t, path, options{})
	got, err := s.WebhookByURLID(ctx, "abc")
	if err != nil || got.Name != "hook" || string(got.Secret) != "\x01\x02" {
		t.Fatalf("the webhook reads back as %+v, %v", got, err)
	}
}
