package service_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// TestAuthorizeValidation: checking a document is allowed to whoever may
// create or update the pipeline it names, and to nobody else.
func TestAuthorizeValidation(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := service.New(service.Config{Store: db, Region: "us-east-1", Account: "123456789012", NoFirstExecution: true,
		Authorize: service.NewPolicyAuthorizer(nil)})
	as := func(action, resource string) context.Context {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
		return service.WithCaller(t.Context(), service.Caller{Principal: "k", AccessKeyID: "k", Door: service.DoorREST, Verified: true,
			Policies: []*auth.Policy{auth.MustParse(doc)}})
	}
	arn := "arn:aws:codepipeline:us-east-1:123456789012:"
	tests := []struct {
		name    string
		ctx     context.Context
		allowed bool
	}{
		{"CreatePipeline", as("codepipeline:CreatePipeline", "*"), true},
		{"UpdatePipeline on it", as("codepipeline:UpdatePipeline", arn+"team-*"), true},
		{"UpdatePipeline on others", as("codepipeline:UpdatePipeline", arn+"other-*"), false},
		{"reading only", as("codepipeline:GetPipeline", "*"), false},
		{"nothing", as("codepipeline:ListPipelines", "*"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.AuthorizeValidation(tt.ctx, "team-web", nil)
			if tt.allowed && err != nil {
				t.Fatalf("denied: %v", err)
			}
			if !tt.allowed && (errs.CodeOf(err) != errs.Forbidden || !strings.Contains(err.Error(), "codepipeline:CreatePipeline")) {
				t.Fatalf("%v, want the denial of CreatePipeline", err)
			}
		})
	}
}
