package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

// trigger is what a door lists of an execution's trigger.
type trigger struct{ typ, detail string }

// firstDoor creates, updates and lists the executions of a pipeline of one
// manual approval (its executions wait there) through one door.
type firstDoor struct {
	name      string
	principal string // the trigger detail the door's caller gives
	create    func(t *testing.T, srv *apitest.Server, name string)
	update    func(t *testing.T, srv *apitest.Server, name string)
	list      func(t *testing.T, srv *apitest.Server, name string) []trigger
}

func gateJSON(name, action string) string {
	return `{"name":"` + name + `","roleArn":"arn:aws:iam::000000000000:role/first","stages":[{"name":"S","actions":[{"name":"` + action +
		`","actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}]}]}`
}

func restCall(t *testing.T, srv *apitest.Server, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(rest.RESTUserHeader, "alice") // a claim the signature overrides
	status, data := send(t, srv.Client(), req)
	if out != nil && status < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, status, data)
		}
	}
	return status
}

func sdkClient(srv *apitest.Server) *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: srv.Credentials(),
	})
}

func sdkGate(name, action string) *cptypes.PipelineDeclaration {
	return &cptypes.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String("arn:aws:iam::000000000000:role/first"),
		Stages: []cptypes.StageDeclaration{{Name: aws.String("S"), Actions: []cptypes.ActionDeclaration{{
			Name: aws.String(action),
			ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategoryApproval, Owner: cptypes.ActionOwnerAws,
				Provider: aws.String("Manual"), Version: aws.String("1")},
		}}}},
	}
}

var firstDoors = []firstDoor{
	{
		name: "REST", principal: apitest.AdminPrincipal,
		create: func(t *testing.T, srv *apitest.Server, name string) {
			if code := restCall(t, srv, "POST", "/v1/pipelines", gateJSON(name, "Approve"), nil); code != http.StatusCreated {
				t.Fatalf("POST /v1/pipelines: %d", code)
			}
		},
		update: func(t *testing.T, srv *apitest.Server, name string) {
			if code := restCall(t, srv, "PUT", "/v1/pipelines/"+name, gateJSON(name, "Again"), nil); code != http.StatusOK {
				t.Fatalf("PUT /v1/pipelines/%s: %d", name, code)
			}
		},
		list: func(t *testing.T, srv *apitest.Server, name string) []trigger {
			var out service.ListPipelineExecutionsOutput
			if code := restCall(t, srv, "GET", "/v1/pipelines/"+name+"/executions", "", &out); code != http.StatusOK {
				t.Fatalf("GET executions: %d", code)
			}
			var got []trigger
			for _, s := range out.PipelineExecutionSummaries {
				got = append(got, trigger{s.Trigger.TriggerType, s.Trigger.TriggerDetail})
			}
			return got
		},
	},
	{
		name: "CodePipeline (AWS SDK for Go v2)", principal: apitest.AdminPrincipal,
		create: func(t *testing.T, srv *apitest.Server, name string) {
			_, err := sdkClient(srv).CreatePipeline(t.Context(), &codepipeline.CreatePipelineInput{Pipeline: sdkGate(name, "Approve")})
			if err != nil {
				t.Fatalf("CreatePipeline: %v", err)
			}
		},
		update: func(t *testing.T, srv *apitest.Server, name string) {
			if _, err := sdkClient(srv).UpdatePipeline(t.Context(), &codepipeline.UpdatePipelineInput{Pipeline: sdkGate(name, "Again")}); err != nil {
				t.Fatalf("UpdatePipeline: %v", err)
			}
		},
		list: func(t *testing.T, srv *apitest.Server, name string) []trigger {
			out, err := sdkClient(srv).ListPipelineExecutions(t.Context(), &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
			if err != nil {
				t.Fatalf("ListPipelineExecutions: %v", err)
			}
			var got []trigger
			for _, s := range out.PipelineExecutionSummaries {
				got = append(got, trigger{string(s.Trigger.TriggerType), aws.ToString(s.Trigger.TriggerDetail)})
			}
			return got
		},
	},
}

// TestCreatingAPipelineStartsItsFirstExecution: as in CodePipeline, a
// pipeline created through either door starts one execution, of trigger
// type CreatePipeline with the caller as detail; an update starts none; a
// server made with apitest.WithoutFirstExecution starts none at all.
func TestCreatingAPipelineStartsItsFirstExecution(t *testing.T) {
	for _, door := range firstDoors {
		t.Run(door.name, func(t *testing.T) {
			srv := apitest.NewServer(t)
			door.create(t, srv, "first")
			want := trigger{service.TriggerCreatePipeline, door.principal}
			if got := door.list(t, srv, "first"); len(got) != 1 || got[0] != want {
				t.Fatalf("after the create: executions %+v, want exactly one %+v", got, want)
			}
			door.update(t, srv, "first")
			if got := door.list(t, srv, "first"); len(got) != 1 || got[0] != want {
				t.Fatalf("after the update: executions %+v, want still only the first one", got)
			}
		})
		t.Run(door.name+", WithoutFirstExecution", func(t *testing.T) {
			srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
			door.create(t, srv, "quiet")
			if got := door.list(t, srv, "quiet"); len(got) != 0 {
				t.Fatalf("executions %+v, want none", got)
			}
		})
	}
}

// TestFirstExecutionThatCannotStart: a pipeline whose variable has no
// default value cannot start without a StartPipelineExecution giving it; it
// is still created, starts nothing, and the server logs why.
func TestFirstExecutionThatCannotStart(t *testing.T) {
	var mu sync.Mutex
	var buf strings.Builder
	srv := apitest.NewServer(t, apitest.WithLogger(slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))))
	doc := `{"name":"needs-v","pipelineType":"V2","variables":[{"name":"V"}],"stages":[{"name":"S","actions":[{"name":"Approve",` +
		`"actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}]}]}`
	if code := restCall(t, srv, "POST", "/v1/pipelines", doc, nil); code != http.StatusCreated {
		t.Fatalf("POST /v1/pipelines: %d, want 201", code)
	}
	if code := restCall(t, srv, "GET", "/v1/pipelines/needs-v", "", nil); code != http.StatusOK {
		t.Fatalf("GET the pipeline: %d, want 200", code)
	}
	if got := firstDoors[0].list(t, srv, "needs-v"); len(got) != 0 {
		t.Fatalf("executions %+v, want none", got)
	}
	mu.Lock()
	log := buf.String()
	mu.Unlock()
	var warned bool
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]string // every member of these lines is a string
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "WARN" && m["pipeline"] == "needs-v" &&
			strings.Contains(m["msg"], "first execution did not start") && strings.Contains(m["err"], "variables.V") {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("no warning naming the pipeline and the reason in the log:\n%s", log)
	}
	// Given the variable, it starts.
	if code := restCall(t, srv, "POST", "/v1/pipelines/needs-v/executions", `{"variables":{"V":"x"}}`, nil); code != http.StatusCreated {
		t.Fatalf("start with the variable: %d, want 201", code)
	}
}

// TestFirstExecutionIsPartOfCreatePipeline: the first execution is part of
// the CreatePipeline the caller was allowed, so a caller who may not call
// StartPipelineExecution still gets it, as with IAM in CodePipeline.
func TestFirstExecutionIsPartOfCreatePipeline(t *testing.T) {
	noStart := func(ctx context.Context, op service.Operation, resource string) error {
		if op == service.OpStartPipelineExecution {
			return service.Denied(ctx, op, resource)
		}
		return nil
	}
	srv := apitest.NewServer(t, apitest.WithAuthorizer(noStart))
	door := firstDoors[1]
	door.create(t, srv, "created")
	if got := door.list(t, srv, "created"); len(got) != 1 || got[0].typ != service.TriggerCreatePipeline {
		t.Fatalf("executions %+v, want the first one", got)
	}
	_, err := sdkClient(srv).StartPipelineExecution(t.Context(), &codepipeline.StartPipelineExecutionInput{Name: aws.String("created")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("StartPipelineExecution: %v, want AccessDeniedException", err)
	}
}
