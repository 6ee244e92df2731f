package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/stageflow/stageflow"

// pkg is what the rules read of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string // direct imports
	Deps       []string // every package it depends on, transitively
}

// A rule forbids packages matching Of to depend on packages matching Not.
type rule struct {
	why string
	// of and not are import paths, or prefixes ending in "/...".
	of, not []string
	// direct checks direct imports only (the default is every dependency).
	direct bool
	// except lists packages the rule does not apply to.
	except []string
}

var rules = []rule{
	{
		why: "the model and the engine know nothing of SQL, AWS or HTTP",
		of:  []string{module + "/shared/pipeline", module + "/shared/engine"},
		not: []string{"database/sql", "net/http", "modernc.org/...", "github.com/aws/...", "github.com/johannesboyne/..."},
	},
	{
		why: "the service is handed its store and driver; it imports no door, driver or store adapter",
		of:  []string{module + "/shared/service"},
		not: []string{module + "/shared/api/...", module + "/shared/runner/...", module + "/shared/store/sqlite/...",
			module + "/shared/store/dynamo/...", module + "/shared/embedded/...", "database/sql", "net/http", "github.com/aws/..."},
	},
	{
		why: "access control is domain code: it imports no door, driver, store adapter, embedded system, SQL or AWS SDK",
		of:  []string{module + "/shared/auth/..."},
		not: []string{module + "/shared/api/...", module + "/shared/runner/...", module + "/shared/store/sqlite/...",
			module + "/shared/store/dynamo/...", module + "/shared/embedded/...", module + "/shared/sfn/...", "database/sql", "github.com/aws/..."},
	},
	{
		why: "the policy language knows nothing of callers or operations: the service evaluates callers' policies with it",
		of:  []string{module + "/shared/auth/..."},
		not: []string{module + "/shared/service/..."},
	},
	{
		why: "stage-condition rules are pure: shared/rules evaluates over the model and what its caller passes, with no engine, service, store, driver, door, process, SQL, HTTP or AWS SDK",
		of:  []string{module + "/shared/rules/..."},
		not: []string{module + "/shared/engine/...", module + "/shared/service/...", module + "/shared/store/...", module + "/shared/runner/...",
			module + "/shared/api/...", module + "/shared/sfn/...", module + "/shared/actions/...", "os/exec", "database/sql", "net/http", "github.com/aws/..."},
	},
	{
		why: "sealing is a leaf: the store adapters and the service use it, it uses none of them",
		of:  []string{module + "/shared/seal"},
		not: []string{module + "/shared/service/...", module + "/shared/store/...", module + "/shared/api/..."},
	},
	{
		why: "only SigV4 verification (over an *http.Request) brings net/http into shared/auth",
		of:  []string{module + "/shared/auth/..."},
		not: []string{"net/http"},
		// sigv4 verifies requests; whoever imports it gets net/http.
		except: []string{module + "/shared/auth/sigv4"},
	},
	{
		why: "doors call the service; they do not reach past it to a driver or a store adapter",
		of:  []string{module + "/shared/api/..."},
		not: []string{module + "/shared/runner/...", module + "/shared/store/sqlite/...", module + "/shared/store/dynamo/..."},
		// apitest assembles a whole server for tests.
		except: []string{module + "/shared/api/apitest"},
	},
	{
		why: "shared packages never depend on the binaries or the Lambda entry points",
		of:  []string{module + "/shared/..."},
		not: []string{module + "/cmd/...", module + "/functions/...", module + "/infra/..."},
	},
	{
		why:    "only adapters named after their technology import its driver or SDK",
		of:     []string{module + "/..."},
		not:    []string{"modernc.org/sqlite/...", "database/sql"},
		direct: true,
		except: []string{module + "/shared/store/sqlite"},
	},
	{
		why:    "only adapters named after their technology import its driver or SDK",
		of:     []string{module + "/..."},
		not:    []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb/...", "github.com/aws/aws-sdk-go-v2/feature/dynamodb/..."},
		direct: true,
		// dynamotest starts DynamoDB Local for the tests of other packages;
		// infra declares the table from the CreateTable input of
		// dynamo.TableSchema, which it reads in the SDK's types.
		except: []string{module + "/shared/store/dynamo", module + "/shared/store/dynamo/dynamotest", module + "/infra"},
	},
	{
		why:    "only adapters named after their technology import its driver or SDK",
		of:     []string{module + "/..."},
		not:    []string{"github.com/aws/aws-sdk-go-v2/service/sts/..."},
		direct: true,
		except: []string{module + "/shared/artifacts/sts"},
	},
	{
		why:    "only adapters named after their technology import its driver or SDK",
		of:     []string{module + "/..."},
		not:    []string{"github.com/aws/aws-sdk-go-v2/service/kms/..."},
		direct: true,
		except: []string{module + "/shared/seal/kms"},
	},
	{
		why:    "only the S3 door imports the S3 server library",
		of:     []string{module + "/..."},
		not:    []string{"github.com/johannesboyne/gofakes3/..."},
		direct: true,
		except: []string{module + "/shared/api/s3door"},
	},
}

func matches(path string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "/..."); ok {
			if path == prefix || strings.HasPrefix(path, prefix+"/") {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

// violations applies the rules to the packages.
func violations(pkgs []pkg) []string {
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !matches(p.ImportPath, r.of) || slices.Contains(r.except, p.ImportPath) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				if matches(d, r.not) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, r.why))
				}
			}
		}
	}
	return out
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportRules checks the module's packages (not their tests).
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	var seen []string
	for _, p := range pkgs {
		seen = append(seen, p.ImportPath)
	}
	for _, want := range []string{"/shared/engine", "/shared/pipeline", "/shared/rules", "/shared/service", "/shared/api", "/shared/api/rest", "/shared/auth", "/shared/auth/sigv4", "/cmd/stageflow"} {
		if !slices.Contains(seen, module+want) {
			t.Fatalf("go list did not report %s; the rules would check nothing", module+want)
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations shows each kind of violation is caught.
func TestRulesCatchViolations(t *testing.T) {
	tests := []struct {
		name string
		pkg  pkg
		want string // a part of the violation; "" for none
	}{
		{"engine importing net/http", pkg{ImportPath: module + "/shared/engine", Deps: []string{"net/http"}}, "shared/engine imports net/http"},
		{"pipeline depending on the AWS SDK", pkg{ImportPath: module + "/shared/pipeline", Deps: []string{"github.com/aws/aws-sdk-go-v2/aws"}}, "github.com/aws/aws-sdk-go-v2/aws"},
		{"service importing a door", pkg{ImportPath: module + "/shared/service", Deps: []string{module + "/shared/api/rest"}}, "shared/service imports"},
		{"service importing the runner", pkg{ImportPath: module + "/shared/service", Deps: []string{module + "/shared/runner"}}, "shared/runner"},
		{"a door importing the SQLite store", pkg{ImportPath: module + "/shared/api/cpdoor", Deps: []string{module + "/shared/store/sqlite"}}, "shared/api/cpdoor imports"},
		{"shared importing cmd", pkg{ImportPath: module + "/shared/runner", Deps: []string{module + "/cmd/stageflow"}}, "cmd/stageflow"},
		{"shared importing functions", pkg{ImportPath: module + "/shared/api", Deps: []string{module + "/functions/api"}}, "functions/api"},
		{"SQL outside the SQLite adapter", pkg{ImportPath: module + "/shared/runner", Imports: []string{"database/sql"}}, "database/sql"},
		{"the SQLite adapter itself", pkg{ImportPath: module + "/shared/store/sqlite", Imports: []string{"database/sql", "modernc.org/sqlite"}}, ""},
		{"the DynamoDB SDK outside its adapter", pkg{ImportPath: module + "/shared/runner", Imports: []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb"}}, "service/dynamodb"},
		{"the DynamoDB adapter itself", pkg{ImportPath: module + "/shared/store/dynamo", Imports: []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"}}, ""},
		{"the KMS SDK outside its sealer", pkg{ImportPath: module + "/shared/deployed", Imports: []string{"github.com/aws/aws-sdk-go-v2/service/kms"}}, "service/kms"},
		{"the KMS sealer itself", pkg{ImportPath: module + "/shared/seal/kms", Imports: []string{"github.com/aws/aws-sdk-go-v2/service/kms/types"}}, ""},
		{"a door importing the DynamoDB store", pkg{ImportPath: module + "/shared/api/rest", Deps: []string{module + "/shared/store/dynamo"}}, "shared/api/rest imports"},
		{"apitest assembling a server", pkg{ImportPath: module + "/shared/api/apitest", Deps: []string{module + "/shared/runner"}}, ""},
		{"auth importing a door", pkg{ImportPath: module + "/shared/auth", Deps: []string{module + "/shared/api/cpdoor"}}, "shared/auth imports"},
		{"auth importing a store adapter", pkg{ImportPath: module + "/shared/auth", Deps: []string{module + "/shared/store/sqlite"}}, "shared/store/sqlite"},
		{"auth importing the AWS SDK", pkg{ImportPath: module + "/shared/auth/sigv4", Deps: []string{"github.com/aws/aws-sdk-go-v2/aws"}}, "github.com/aws/aws-sdk-go-v2/aws"},
		{"policies importing the service", pkg{ImportPath: module + "/shared/auth", Deps: []string{module + "/shared/service"}}, "shared/service"},
		{"the service evaluating policies", pkg{ImportPath: module + "/shared/service", Deps: []string{module + "/shared/auth"}}, ""},
		{"sealing importing a store", pkg{ImportPath: module + "/shared/seal", Deps: []string{module + "/shared/store/sqlite"}}, "shared/store/sqlite"},
		{"policies importing net/http", pkg{ImportPath: module + "/shared/auth", Deps: []string{"net/http"}}, "net/http"},
		{"sigv4 verifying an *http.Request", pkg{ImportPath: module + "/shared/auth/sigv4", Deps: []string{"net/http", "crypto/hmac"}}, ""},
		{"a door using sigv4", pkg{ImportPath: module + "/shared/api/s3door", Deps: []string{module + "/shared/auth/sigv4", "net/http"}}, ""},
		{"service using the engine", pkg{ImportPath: module + "/shared/service", Deps: []string{module + "/shared/engine"}}, ""},
		{"rules importing the engine", pkg{ImportPath: module + "/shared/rules", Deps: []string{module + "/shared/engine"}}, "shared/rules imports"},
		{"rules running processes", pkg{ImportPath: module + "/shared/rules", Deps: []string{"os/exec"}}, "os/exec"},
		{"the window parser depending on the service", pkg{ImportPath: module + "/shared/rules/window", Deps: []string{module + "/shared/service"}}, "shared/service"},
		{"rules over the model and a cron library", pkg{ImportPath: module + "/shared/rules", Deps: []string{module + "/shared/pipeline", "github.com/robfig/cron/v3"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations([]pkg{tt.pkg})
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected violations: %q", got)
				}
				return
			}
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("violations %q, want one mentioning %q", got, tt.want)
			}
		})
	}
}
