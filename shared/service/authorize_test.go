package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// tagStore counts the reads of tags and fails them on demand.
type tagStore struct {
	service.Store
	reads int
	fail  error
}

func (s *tagStore) ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error) {
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Store.ListTags(ctx, arn)
}

// TestPolicyAuthorizerReadsResourceTags: the resource's tags are read only
// when a policy has an aws:ResourceTag condition, and a failure to read
// them is the operation's error, neither an allow nor a denial.
func TestPolicyAuthorizerReadsResourceTags(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &tagStore{Store: db}
	svc := service.New(service.Config{Store: st, Region: "us-east-1", Account: "123456789012", NoFirstExecution: true,
		Authorize: service.NewPolicyAuthorizer(nil)})
	local := service.LocalCaller(t.Context(), "test")
	p := pipeline.Pipeline{Name: "p", Stages: []pipeline.Stage{{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}}}}
	if _, err := svc.CreatePipeline(local, p, []pipeline.Tag{{Key: "team", Value: "blue"}}); err != nil {
		t.Fatal(err)
	}
	as := func(doc string) context.Context {
		return service.WithCaller(t.Context(), service.Caller{Principal: "k", AccessKeyID: "k", Door: service.DoorREST, Verified: true,
			Policies: []*auth.Policy{auth.MustParse(doc)}})
	}
	plain := as(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:GetPipeline","Resource":"*"}]}`)
	byTag := as(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:GetPipeline","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}}]}`)
	byRed := as(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:GetPipeline","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"red"}}}]}`)

	st.reads = 0
	if _, err := svc.GetPipeline(plain, "p", 0); err != nil {
		t.Fatal(err)
	}
	if st.reads != 0 {
		t.Fatalf("tags read %d times for a policy without a ResourceTag condition", st.reads)
	}
	if _, err := svc.GetPipeline(byTag, "p", 0); err != nil {
		t.Fatalf("tagged team=blue: %v", err)
	}
	if _, err := svc.GetPipeline(byRed, "p", 0); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("tagged team=blue under a team=red policy: %v, want a denial", err)
	}
	if st.reads != 2 {
		t.Fatalf("tags read %d times, want 2", st.reads)
	}
	broken := errors.New("the disk is on fire")
	st.fail = broken
	for _, ctx := range []context.Context{byTag, byRed} {
		_, err := svc.GetPipeline(ctx, "p", 0)
		if !errors.Is(err, broken) || errs.CodeOf(err) == errs.Forbidden {
			t.Fatalf("a failed tag read: %v, want the store's error", err)
		}
	}
}
