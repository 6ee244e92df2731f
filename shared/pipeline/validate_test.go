package pipeline

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

// The rule tests start from one of two valid documents and change one thing.
//
// full (testdata/valid/v2-full.json), by index:
//
//	stages[0] Source: actions[0] Checkout (namespace SourceVars, outputs Src)
//	stages[1] Build:  beforeEntry rule OnMain (reads #{SourceVars.BranchName}), onFailure RETRY
//	                  actions[0] Compile (Commands, runOrder 1, in Src, out BuildOut, namespace BuildVars)
//	                  actions[1] Package (runOrder 2, in BuildOut, out Bundle)
//	stages[2] Deploy: onSuccess rule Smoke (in Bundle)
//	                  actions[0] Approve, actions[1] Ship (runOrder 2, in Bundle)
//
// single (testdata/valid/single-commands-stage.json): one stage "Run" with one
// Commands action "Report", no V2-only fields.
const (
	full   = "testdata/valid/v2-full.json"
	single = "testdata/valid/single-commands-stage.json"
)

func loadPipeline(t *testing.T, file string) *Pipeline {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, problems := Parse(data)
	if len(problems) > 0 {
		t.Fatalf("%s: %v", file, problems)
	}
	return &doc.Pipeline
}

func ptr[T any](v T) *T { return &v }

func rep(s string, n int) string { return strings.Repeat(s, n) }

// strs makes n distinct strings of the form prefix0, prefix1, ...
func strs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + itoa(i)
	}
	return out
}

func approval(name string) Action {
	return Action{Name: name, ActionTypeID: ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}}
}

func approvals(n int) []Action {
	out := make([]Action, n)
	for i := range out {
		out[i] = approval("A" + itoa(i))
	}
	return out
}

func rule(name string) Rule {
	return Rule{Name: name, RuleTypeID: RuleTypeID{Category: "Rule", Provider: "VariableCheck"},
		Configuration: map[string]string{"Operator": "EQ", "Variable": "#{codepipeline.PipelineExecutionId}", "Value": "x"}}
}

type ruleCase struct {
	name   string
	base   string // full or single
	mutate func(p *Pipeline)
	// path and msg describe the expected problem; path "" means the result
	// must be valid. Unless many is set, it must be the only problem.
	path string
	msg  string
	many bool
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == "" {
				base = full
			}
			p := loadPipeline(t, base)
			tc.mutate(p)
			problems := Validate(p)
			if tc.path == "" && tc.msg == "" {
				if len(problems) > 0 {
					t.Fatalf("want valid, got %v", problems)
				}
				return
			}
			found := false
			for _, pr := range problems {
				if pr.Path == tc.path && strings.Contains(pr.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want problem %s: …%s…, got %v", tc.path, tc.msg, problems)
			}
			if !tc.many && len(problems) != 1 {
				t.Fatalf("want exactly one problem, got %v", problems)
			}
		})
	}
}

func TestValidDocuments(t *testing.T) {
	for _, f := range []string{full, single} {
		if problems := Validate(loadPipeline(t, f)); len(problems) > 0 {
			t.Errorf("%s: %v", f, problems)
		}
	}
}

func TestPipelineRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "name ok", mutate: func(p *Pipeline) { p.Name = "a.b@c_d-e" + rep("x", 91) }},
		{name: "name missing", mutate: func(p *Pipeline) { p.Name = "" }, path: "name", msg: "is required"},
		{name: "name too long", mutate: func(p *Pipeline) { p.Name = rep("x", 101) }, path: "name", msg: "must be 1..100 characters long, got 101"},
		{name: "name pattern", mutate: func(p *Pipeline) { p.Name = "my pipeline" }, path: "name", msg: `"my pipeline" may only contain letters, digits and . @ _ -`},
		{name: "version 1", mutate: func(p *Pipeline) { p.Version = ptr(1) }},
		{name: "version 0", mutate: func(p *Pipeline) { p.Version = ptr(0) }, path: "version", msg: "must be at least 1, got 0"},
		{name: "executionMode PARALLEL", mutate: func(p *Pipeline) { p.ExecutionMode = "PARALLEL" }},
		{name: "executionMode SUPERSEDED", mutate: func(p *Pipeline) { p.ExecutionMode = "SUPERSEDED" }},
		{name: "executionMode bad", mutate: func(p *Pipeline) { p.ExecutionMode = "FIFO" }, path: "executionMode", msg: `must be one of QUEUED, SUPERSEDED, PARALLEL, got "FIFO"`},
		{name: "pipelineType bad", mutate: func(p *Pipeline) { p.PipelineType = "V3" }, path: "pipelineType", msg: "must be one of V1, V2"},
		{name: "pipelineType absent with V2 fields", mutate: func(p *Pipeline) { p.PipelineType = "" }},
		{name: "roleArn not checked", mutate: func(p *Pipeline) { p.RoleArn = "arn:aws:iam::80398EXAMPLE::role/x" }},
		{name: "roleArn not required", mutate: func(p *Pipeline) { p.RoleArn = "" }},
		{name: "no artifact store", mutate: func(p *Pipeline) { p.ArtifactStore = nil }},
		{name: "store location not checked", mutate: func(p *Pipeline) { p.ArtifactStore.Location = "x" }},
		{name: "both stores", mutate: func(p *Pipeline) {
			p.ArtifactStores = map[string]ArtifactStore{"us-east-1": {Type: "S3", Location: "b"}}
		}, path: "artifactStores", msg: "cannot be given together with artifactStore"},
		{name: "store type missing", mutate: func(p *Pipeline) { p.ArtifactStore.Type = "" }, path: "artifactStore.type", msg: "is required"},
		{name: "store type bad", mutate: func(p *Pipeline) { p.ArtifactStore.Type = "GCS" }, path: "artifactStore.type", msg: `must be one of S3, got "GCS"`},
		{name: "key type bad", mutate: func(p *Pipeline) { p.ArtifactStore.EncryptionKey.Type = "AES" }, path: "artifactStore.encryptionKey.type", msg: "must be one of KMS"},
		{name: "key id missing", mutate: func(p *Pipeline) { p.ArtifactStore.EncryptionKey.ID = "" }, path: "artifactStore.encryptionKey.id", msg: "is required"},
		{name: "key id 400", mutate: func(p *Pipeline) { p.ArtifactStore.EncryptionKey.ID = rep("k", 400) }},
		{name: "key id 401", mutate: func(p *Pipeline) { p.ArtifactStore.EncryptionKey.ID = rep("k", 401) }, path: "artifactStore.encryptionKey.id", msg: "must be 1..400 characters long"},
		{name: "stores by region", mutate: func(p *Pipeline) {
			p.ArtifactStore = nil
			p.ArtifactStores = map[string]ArtifactStore{"us-east-1": {Type: "S3", Location: "a"}, "eu-west-1": {Type: "S3", Location: "b"}}
		}},
		{name: "stores region too short", mutate: func(p *Pipeline) {
			p.ArtifactStore = nil
			p.ArtifactStores = map[string]ArtifactStore{"us": {Type: "S3", Location: "a"}}
		}, path: "artifactStores.us", msg: "must be 4..30 characters long, got 2"},
		{name: "stores type missing", mutate: func(p *Pipeline) {
			p.ArtifactStore = nil
			p.ArtifactStores = map[string]ArtifactStore{"us-east-1": {Location: "a"}}
		}, path: "artifactStores.us-east-1.type", msg: "is required"},
	})
}

func TestVariableRules(t *testing.T) {
	many := func(n int) func(p *Pipeline) {
		return func(p *Pipeline) {
			for _, name := range strs("v", n-len(p.Variables)) {
				p.Variables = append(p.Variables, VariableDeclaration{Name: name})
			}
		}
	}
	runRuleCases(t, []ruleCase{
		{name: "50 variables", mutate: many(50)},
		{name: "51 variables", mutate: many(51), path: "variables", msg: "must have at most 50 entries, got 51"},
		{name: "name missing", mutate: func(p *Pipeline) { p.Variables[1].Name = "" }, path: "variables[1].name", msg: "is required"},
		{name: "name pattern", mutate: func(p *Pipeline) { p.Variables[1].Name = "a.b" }, path: "variables[1].name", msg: "may only contain letters, digits and @ _ -"},
		{name: "name 128", mutate: func(p *Pipeline) { p.Variables[1].Name = rep("n", 128) }},
		{name: "name 129", mutate: func(p *Pipeline) { p.Variables[1].Name = rep("n", 129) }, path: "variables[1].name", msg: "must be 1..128 characters long"},
		{name: "duplicate", mutate: func(p *Pipeline) { p.Variables[1].Name = "Env" }, path: "variables[1].name", msg: `variable "Env" is already declared at variables[0]`},
		{name: "default empty", mutate: func(p *Pipeline) { p.Variables[0].DefaultValue = ptr("") }, path: "variables[0].defaultValue", msg: "must be 1..1000 characters long, got 0"},
		{name: "default 1000", mutate: func(p *Pipeline) { p.Variables[0].DefaultValue = ptr(rep("d", 1000)) }},
		{name: "default 1001", mutate: func(p *Pipeline) { p.Variables[0].DefaultValue = ptr(rep("d", 1001)) }, path: "variables[0].defaultValue", msg: "must be 1..1000 characters long, got 1001"},
		{name: "default line break", mutate: func(p *Pipeline) { p.Variables[0].DefaultValue = ptr("a\nb") }, path: "variables[0].defaultValue", msg: "must not contain line breaks"},
		{name: "description empty", mutate: func(p *Pipeline) { p.Variables[0].Description = ptr("") }},
		{name: "description 201", mutate: func(p *Pipeline) { p.Variables[0].Description = ptr(rep("d", 201)) }, path: "variables[0].description", msg: "must be at most 200 characters long, got 201"},
	})
}

func TestTriggerRules(t *testing.T) {
	git := func(p *Pipeline) *GitConfiguration { return &p.Triggers[0].GitConfiguration }
	runRuleCases(t, []ruleCase{
		{name: "50 triggers", mutate: func(p *Pipeline) {
			for len(p.Triggers) < 50 {
				p.Triggers = append(p.Triggers, p.Triggers[0])
			}
		}},
		{name: "51 triggers", mutate: func(p *Pipeline) {
			for len(p.Triggers) < 51 {
				p.Triggers = append(p.Triggers, p.Triggers[0])
			}
		}, path: "triggers", msg: "must have at most 50 entries, got 51"},
		{name: "providerType missing", mutate: func(p *Pipeline) { p.Triggers[0].ProviderType = "" }, path: "triggers[0].providerType", msg: "is required"},
		{name: "providerType bad", mutate: func(p *Pipeline) { p.Triggers[0].ProviderType = "GitHub" }, path: "triggers[0].providerType", msg: "must be one of CodeStarSourceConnection"},
		{name: "sourceActionName missing", mutate: func(p *Pipeline) { git(p).SourceActionName = "" }, path: "triggers[0].gitConfiguration.sourceActionName", msg: "is required"},
		{name: "sourceActionName unknown", mutate: func(p *Pipeline) { git(p).SourceActionName = "Nope" }, path: "triggers[0].gitConfiguration.sourceActionName", msg: `no action of the pipeline is named "Nope"`},
		{name: "sourceActionName any action", mutate: func(p *Pipeline) { git(p).SourceActionName = "Ship" }},
		{name: "no filters", mutate: func(p *Pipeline) { git(p).Push, git(p).PullRequest = nil, nil }},
		{name: "push empty", mutate: func(p *Pipeline) { git(p).Push = []GitPushFilter{} }, path: "triggers[0].gitConfiguration.push", msg: "must have 1..3 entries, got 0"},
		{name: "push 3", mutate: func(p *Pipeline) { g := git(p); g.Push = append(g.Push, g.Push[0], g.Push[0]) }},
		{name: "push 4", mutate: func(p *Pipeline) { g := git(p); g.Push = append(g.Push, g.Push[0], g.Push[0], g.Push[0]) }, path: "triggers[0].gitConfiguration.push", msg: "must have 1..3 entries, got 4"},
		{name: "pullRequest empty", mutate: func(p *Pipeline) { git(p).PullRequest = []GitPullRequestFilter{} }, path: "triggers[0].gitConfiguration.pullRequest", msg: "must have 1..3 entries, got 0"},
		{name: "pullRequest 4", mutate: func(p *Pipeline) {
			g := git(p)
			g.PullRequest = append(g.PullRequest, g.PullRequest[0], g.PullRequest[0], g.PullRequest[0])
		}, path: "triggers[0].gitConfiguration.pullRequest", msg: "must have 1..3 entries, got 4"},
		{name: "events all", mutate: func(p *Pipeline) { git(p).PullRequest[0].Events = []string{"OPEN", "UPDATED", "CLOSED"} }},
		{name: "events empty", mutate: func(p *Pipeline) { git(p).PullRequest[0].Events = []string{} }, path: "triggers[0].gitConfiguration.pullRequest[0].events", msg: "must have 1..3 entries, got 0"},
		{name: "events 4", mutate: func(p *Pipeline) { git(p).PullRequest[0].Events = []string{"OPEN", "UPDATED", "CLOSED", "OPEN"} }, path: "triggers[0].gitConfiguration.pullRequest[0].events", msg: "must have 1..3 entries, got 4"},
		{name: "event bad", mutate: func(p *Pipeline) { git(p).PullRequest[0].Events[1] = "MERGED" }, path: "triggers[0].gitConfiguration.pullRequest[0].events[1]", msg: `must be one of OPEN, UPDATED, CLOSED, got "MERGED"`},
		{name: "includes 8", mutate: func(p *Pipeline) { git(p).Push[0].Branches.Includes = strs("b", 8) }},
		{name: "includes 9", mutate: func(p *Pipeline) { git(p).Push[0].Branches.Includes = strs("b", 9) }, path: "triggers[0].gitConfiguration.push[0].branches.includes", msg: "must have 1..8 entries, got 9"},
		{name: "excludes empty", mutate: func(p *Pipeline) { git(p).Push[0].FilePaths.Excludes = []string{} }, path: "triggers[0].gitConfiguration.push[0].filePaths.excludes", msg: "must have 1..8 entries, got 0"},
		{name: "tag excludes 9", mutate: func(p *Pipeline) { git(p).Push[0].Tags.Excludes = strs("t", 9) }, path: "triggers[0].gitConfiguration.push[0].tags.excludes", msg: "must have 1..8 entries, got 9"},
		{name: "pr branches 9", mutate: func(p *Pipeline) { git(p).PullRequest[0].Branches.Includes = strs("b", 9) }, path: "triggers[0].gitConfiguration.pullRequest[0].branches.includes", msg: "must have 1..8 entries"},
		{name: "pattern 255", mutate: func(p *Pipeline) { git(p).Push[0].Branches.Includes[0] = rep("b", 255) }},
		{name: "pattern empty", mutate: func(p *Pipeline) { git(p).Push[0].Branches.Includes[0] = "" }, path: "triggers[0].gitConfiguration.push[0].branches.includes[0]", msg: "must be 1..255 characters long, got 0"},
		{name: "tag pattern 256", mutate: func(p *Pipeline) { git(p).Push[0].Tags.Includes[0] = rep("t", 256) }, path: "triggers[0].gitConfiguration.push[0].tags.includes[0]", msg: "must be 1..255 characters long, got 256"},
		{name: "file pattern line break", mutate: func(p *Pipeline) { git(p).Push[0].FilePaths.Includes[0] = "a\nb" }, path: "triggers[0].gitConfiguration.push[0].filePaths.includes[0]", msg: "must not contain line breaks"},
	})
}

func TestPipelineTypeRules(t *testing.T) {
	v1 := func(f func(p *Pipeline)) func(p *Pipeline) {
		return func(p *Pipeline) { p.PipelineType = TypeV1; f(p) }
	}
	cond := []Condition{{Rules: []Rule{rule("R")}}}
	runRuleCases(t, []ruleCase{
		{name: "V1 plain", base: single, mutate: v1(func(p *Pipeline) {})},
		{name: "V1 SUPERSEDED", base: single, mutate: v1(func(p *Pipeline) { p.ExecutionMode = ModeSuperseded })},
		{name: "V1 QUEUED", base: single, mutate: v1(func(p *Pipeline) { p.ExecutionMode = ModeQueued }), path: "executionMode", msg: "QUEUED is only allowed in V2 pipelines"},
		{name: "V1 PARALLEL", base: single, mutate: v1(func(p *Pipeline) { p.ExecutionMode = ModeParallel }), path: "executionMode", msg: "PARALLEL is only allowed in V2 pipelines"},
		{name: "V1 variables", base: single, mutate: v1(func(p *Pipeline) { p.Variables = []VariableDeclaration{{Name: "x"}} }), path: "variables", msg: "is only allowed in V2 pipelines, but pipelineType is V1"},
		{name: "V1 triggers", base: single, mutate: v1(func(p *Pipeline) {
			p.Triggers = []Trigger{{ProviderType: "CodeStarSourceConnection", GitConfiguration: GitConfiguration{SourceActionName: "Report"}}}
		}), path: "triggers", msg: "only allowed in V2 pipelines"},
		{name: "V1 beforeEntry", base: single, mutate: v1(func(p *Pipeline) { p.Stages[0].BeforeEntry = &BeforeEntryConditions{Conditions: cond} }), path: "stages[0].beforeEntry", msg: "only allowed in V2 pipelines"},
		{name: "V1 onSuccess", base: single, mutate: v1(func(p *Pipeline) { p.Stages[0].OnSuccess = &SuccessConditions{Conditions: cond} }), path: "stages[0].onSuccess", msg: "only allowed in V2 pipelines"},
		{name: "V1 onFailure", base: single, mutate: v1(func(p *Pipeline) { p.Stages[0].OnFailure = &FailureConditions{Result: ResultRollback} }), path: "stages[0].onFailure", msg: "only allowed in V2 pipelines"},
		{name: "absent type with variables", base: single, mutate: func(p *Pipeline) { p.Variables = []VariableDeclaration{{Name: "x"}} }},
		{name: "V1 on full", mutate: v1(func(p *Pipeline) {}), path: "stages[1].beforeEntry", msg: "only allowed in V2 pipelines", many: true},
	})

	p := loadPipeline(t, full)
	p.PipelineType = TypeV1
	var paths []string
	for _, pr := range Validate(p) {
		paths = append(paths, pr.Path)
	}
	want := []string{"variables", "triggers", "executionMode", "stages[1].beforeEntry", "stages[1].onFailure", "stages[2].onSuccess"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("V1 with every V2-only field: got paths %v, want %v", paths, want)
	}

	s := loadPipeline(t, single)
	if got := s.EffectiveType(); got != TypeV1 {
		t.Errorf("EffectiveType of a plain pipeline = %s, want V1", got)
	}
	s.Triggers = []Trigger{}
	if got := s.EffectiveType(); got != TypeV2 {
		t.Errorf("EffectiveType with triggers = %s, want V2", got)
	}
}

func TestEnvelopeRules(t *testing.T) {
	cases := []struct {
		tags []Tag
		path string
		msg  string
	}{
		{tags: []Tag{{Key: rep("k", 128), Value: rep("v", 256)}, {Key: "k", Value: ""}}},
		{tags: []Tag{{Key: "", Value: "v"}}, path: "tags[0].key", msg: "is required"},
		{tags: []Tag{{Key: "a"}, {Key: rep("k", 129)}}, path: "tags[1].key", msg: "must be 1..128 characters long, got 129"},
		{tags: []Tag{{Key: "a", Value: rep("v", 257)}}, path: "tags[0].value", msg: "must be at most 256 characters long, got 257"},
	}
	for _, tc := range cases {
		got := validateEnvelope(&Document{Tags: tc.tags})
		if tc.path == "" {
			if len(got) > 0 {
				t.Errorf("want valid, got %v", got)
			}
			continue
		}
		if len(got) != 1 || got[0].Path != tc.path || !strings.Contains(got[0].Message, tc.msg) {
			t.Errorf("want %s: …%s…, got %v", tc.path, tc.msg, got)
		}
	}
}

// problemsOf loads a document and returns its problems.
func problemsOf(t *testing.T, data []byte) []errs.Problem {
	t.Helper()
	_, err := Load(data)
	if err == nil {
		return nil
	}
	e, ok := errs.As(err)
	if !ok || e.Code != errs.Validation {
		t.Fatalf("Load error is not a validation error: %v", err)
	}
	return e.Problems
}

func TestFiveMistakesAllReported(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/five-mistakes.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stages[1].timeout":                      `unknown field "timeout"`,
		"stages[1].name":                         `"Build and test" may only contain`,
		"stages[1].actions[1].name":              `action name "Compile" is already used`,
		"stages[1].actions[1].runOrder":          "must be 1..999",
		"stages[1].actions[1].inputArtifacts[0]": `artifact "BuildOut" is not produced by any action that runs before this one`,
	}
	problems := problemsOf(t, data)
	if len(problems) != len(want) {
		t.Errorf("want %d problems, got %d: %v", len(want), len(problems), problems)
	}
	for _, p := range problems {
		frag, ok := want[p.Path]
		if !ok {
			t.Errorf("unexpected problem %v", p)
			continue
		}
		if !strings.Contains(p.Message, frag) {
			t.Errorf("%s: message %q lacks %q", p.Path, p.Message, frag)
		}
		delete(want, p.Path)
	}
	for path := range want {
		t.Errorf("missing problem at %s", path)
	}
}

func TestMalformedJSONHasLineAndColumn(t *testing.T) {
	cases := []struct {
		doc  string
		line string
	}{
		{"{\n  \"name\": \"x\",\n  \"stages\": [\n}", "line 4, column "},
		{"{\"name\": \"x\",\n \"stages\": [", "line 2, column "},
		{"{\"name\": \"x\"}\n{}", "line 2, column "},
	}
	re := regexp.MustCompile(`^line \d+, column \d+: `)
	for _, tc := range cases {
		problems := problemsOf(t, []byte(tc.doc))
		if len(problems) != 1 || !strings.HasPrefix(problems[0].Message, tc.line) || !re.MatchString(problems[0].Message) {
			t.Errorf("%q: want one problem starting %q, got %v", tc.doc, tc.line, problems)
		}
	}
}

func TestUnknownFieldPath(t *testing.T) {
	doc := `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "runorder": 2,
		"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}`
	problems := problemsOf(t, []byte(doc))
	if len(problems) != 1 || problems[0].Path != "stages[0].actions[0].runorder" || !strings.Contains(problems[0].Message, `did you mean "runOrder"`) {
		t.Errorf("got %v", problems)
	}
}
