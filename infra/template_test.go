package main

// Test support: the stack synthesized once per test binary (a failing
// assertions call panics, so the tests read the template as data instead),
// and helpers that read CloudFormation's intrinsics as text.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

type obj = map[string]any

// template is one synthesized stack's CloudFormation template.
type template struct {
	cfg       Config
	Resources map[string]obj
	Outputs   map[string]obj
	// paths maps logical IDs to their names without CDK's hash suffix
	// ("Store", "ApiRole", "ExecutionsRole", …): what the tests name
	// resources by.
	paths map[string]string
}

var (
	// defaults is the stack with the default configuration; custom the one
	// with every setting changed.
	defaults, custom *template
	synthErr         error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stageflow-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Placeholder bootstraps: the template is what is asserted, so no
	// real build is needed.
	for _, fn := range []functionSpec{apiSpec, advanceSpec, dispatchSpec, providerSpec, webhookSpec} {
		err := os.MkdirAll(filepath.Join(dir, fn.Name), 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, fn.Name, "bootstrap"), []byte("placeholder "+fn.Name), 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	cfg := DefaultConfig()
	cfg.LambdaDir = dir
	defaults, synthErr = synth(cfg)
	if synthErr == nil {
		other := cfg
		other.StackName = "StageflowDev"
		other.DeletionProtection = false
		other.LogRetentionDays = 7
		other.ArtifactExpirationDays = 0
		other.ConsoleDomainPrefix = "stageflow-dev-console"
		custom, synthErr = synth(other)
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synth builds the stack of cfg in an app of its own and reads its template.
func synth(cfg Config) (*template, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(cfg.LambdaDir, "cdk.out-"+cfg.StackName))})
	stack, err := NewStack(app, cfg)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		return nil, err
	}
	t := &template{cfg: cfg, paths: map[string]string{}}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, err
	}
	for id := range t.Resources {
		t.paths[id] = logicalHash.ReplaceAllString(id, "")
	}
	return t, nil
}

// logicalHash is the hash CDK appends to a logical ID.
var logicalHash = regexp.MustCompile(`[0-9A-F]{8}$`)

// tmpl returns a synthesized template, failing the test if synthesis did.
func tmpl(t *testing.T, which **template) *template {
	t.Helper()
	if synthErr != nil {
		t.Fatalf("synthesizing the stack: %v", synthErr)
	}
	return *which
}

// ofType returns the resources of a type by construct path.
func (tp *template) ofType(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range tp.Resources {
		if r["Type"] == typ {
			out[tp.paths[id]] = r
		}
	}
	return out
}

// one returns the only resource of a type.
func (tp *template) one(t *testing.T, typ string) obj {
	t.Helper()
	rs := tp.ofType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1: %v", len(rs), typ, keys(rs))
	}
	for _, r := range rs {
		return r
	}
	return nil
}

// byPath returns the resource at a construct path.
func (tp *template) byPath(t *testing.T, path string) obj {
	t.Helper()
	for id, p := range tp.paths {
		if p == path {
			return tp.Resources[id]
		}
	}
	t.Fatalf("no resource at %s (have %v)", path, keys(tp.pathSet()))
	return nil
}

func (tp *template) pathSet() map[string]bool {
	out := map[string]bool{}
	for _, p := range tp.paths {
		out[p] = true
	}
	return out
}

// text renders a value with intrinsics as text: {Ref: X} as "ref(Path)",
// {Fn::GetAtt: [X, A]} as "Path.A", {Fn::Join: ["", parts]} as the parts
// joined, pseudo parameters as ${AWS::Name}.
func (tp *template) text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case obj:
		if r, ok := v["Ref"].(string); ok {
			if strings.HasPrefix(r, "AWS::") {
				return "${" + r + "}"
			}
			return "ref(" + tp.name(r) + ")"
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return tp.name(fmt.Sprint(g[0])) + "." + fmt.Sprint(g[1])
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var b strings.Builder
			for i, p := range parts {
				if i > 0 {
					b.WriteString(fmt.Sprint(j[0]))
				}
				b.WriteString(tp.text(p))
			}
			return b.String()
		}
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func (tp *template) name(logicalID string) string {
	if p, ok := tp.paths[logicalID]; ok {
		return p
	}
	return logicalID
}

// list returns v as a list (a single value as a list of one).
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// get walks nested objects by keys.
func get(v any, path ...string) any {
	for _, k := range path {
		o, ok := v.(obj)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// props returns a resource's Properties.
func props(r obj) obj {
	p, _ := r["Properties"].(obj)
	return p
}
