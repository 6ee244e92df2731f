// Package apidef finds and reads botocore's copy of the CodePipeline API
// definition for the fidelity tests (of shared/apispec and of the pipeline
// model). The AWS CLI v1 bundles botocore; the definition is
// data/codepipeline/2015-07-09/service-2.json.gz under the botocore package.
// A missing or too old definition is an error, never a reason to skip: the
// tests then fail and say how to get the right one.
package apidef

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// MinBotocore is the oldest botocore whose definition the tests accept: the
// one the AWS CLI of Stageflow's machines ships (it has every shape of V2
// pipelines: triggers, variables, stage conditions, Commands actions).
const MinBotocore = "1.43"

// howToGet says how to get the right definition.
const howToGet = "the fidelity tests need the definition of botocore " + MinBotocore + " or newer, which the AWS CLI v1 bundles " +
	"(the machine image's aws-cli 1.45 under pyenv, or pip install awscli); make python3 import that botocore, " +
	"or set " + EnvDir + " to its package directory. Debian's python3-botocore (1.29) is far older and lacks the V2 shapes " +
	"(triggers, variables, stage conditions, Commands actions)"

// File is the definition's path under a botocore package directory.
const File = "data/codepipeline/2015-07-09/service-2.json"

// Ref is a reference to another shape.
type Ref struct {
	Shape string `json:"shape"`
}

// Shape is a shape as the definition writes it.
type Shape struct {
	Type     string         `json:"type"`
	Min      *int           `json:"min"`
	Max      *int           `json:"max"`
	Pattern  string         `json:"pattern"`
	Enum     []string       `json:"enum"`
	Members  map[string]Ref `json:"members"`
	Member   *Ref           `json:"member"`
	Key      *Ref           `json:"key"`
	Value    *Ref           `json:"value"`
	Required []string       `json:"required"`
}

// Definition is the CodePipeline API definition of one botocore.
type Definition struct {
	Path    string // the service-2.json(.gz) read
	Version string // botocore's __version__ next to it
	Shapes  map[string]Shape
}

// Load finds and reads the newest definition on this machine (once per
// process) and fails when there is none or it is older than MinBotocore.
func Load() (*Definition, error) { return load() }

var load = sync.OnceValues(func() (*Definition, error) {
	found := candidates()
	if len(found) == 0 {
		return nil, fmt.Errorf("botocore's CodePipeline API definition (%s.gz) was not found: %s", File, howToGet)
	}
	best := found[0]
	for _, c := range found[1:] {
		if newer(c.version, best.version) {
			best = c
		}
	}
	if newer(MinBotocore, best.version) {
		return nil, fmt.Errorf("the newest CodePipeline API definition found, %s, is botocore %s, older than %s: %s",
			best.path, best.version, MinBotocore, howToGet)
	}
	if cli := awsCLIBotocore(); cli != "" && newer(cli, best.version) {
		return nil, fmt.Errorf("the AWS CLI here ships botocore %s, but the newest CodePipeline API definition found is botocore %s (%s): "+
			"make python3 import the AWS CLI's botocore", cli, best.version, best.path)
	}
	shapes, err := read(best.path)
	if err != nil {
		return nil, err
	}
	return &Definition{Path: best.path, Version: best.version, Shapes: shapes}, nil
})

// ForTest is Load for a test: it fails the test (never skips it) when the
// definition cannot be had, and logs which one it read.
func ForTest(t testing.TB) *Definition {
	t.Helper()
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API definition: %s (botocore %s)", d.Path, d.Version)
	return d
}

type candidate struct{ path, version string }

// EnvDir names an environment variable that, when set, is the botocore
// package directory to read instead of searching for one.
const EnvDir = "STAGEFLOW_BOTOCORE"

// candidates lists the definitions found next to a botocore package whose
// version can be read: the one python3 imports, then the usual places (or
// only the directory $STAGEFLOW_BOTOCORE names).
func candidates() []candidate {
	if d := os.Getenv(EnvDir); d != "" {
		return found([]string{d})
	}
	var dirs []string
	if out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	for _, g := range []string{
		"/root/.pyenv/versions/*/lib/python*/site-packages/botocore",
		"/usr/local/aws-cli/*/lib/python*/site-packages/botocore",
		"/usr/lib/python3*/site-packages/botocore",
		"/usr/lib/python3/dist-packages/botocore",
		"/usr/local/lib/python3*/site-packages/botocore",
		"/usr/local/lib/python3*/dist-packages/botocore",
	} {
		m, _ := filepath.Glob(g)
		dirs = append(dirs, m...)
	}
	return found(dirs)
}

// found lists the definitions of the botocore package directories.
func found(dirs []string) []candidate {
	var out []candidate
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		version := packageVersion(d)
		if version == "" {
			continue
		}
		for _, name := range []string{File + ".gz", File} {
			if p := filepath.Join(d, name); fileExists(p) {
				out = append(out, candidate{p, version})
				break
			}
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var versionRE = regexp.MustCompile(`(?m)^__version__\s*=\s*['"]([0-9.]+)['"]`)

// packageVersion reads __version__ from a botocore package's __init__.py.
func packageVersion(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		return ""
	}
	if m := versionRE.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

var cliRE = regexp.MustCompile(`botocore/([0-9.]+)`)

// awsCLIBotocore is the botocore version `aws --version` names, or "".
func awsCLIBotocore() string {
	out, err := exec.Command("aws", "--version").CombinedOutput()
	if err != nil {
		return ""
	}
	if m := cliRE.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}

// newer reports whether dotted version a is newer than b.
func newer(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

func read(path string) (map[string]Shape, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	var def struct {
		Shapes map[string]Shape `json:"shapes"`
	}
	if err := json.NewDecoder(r).Decode(&def); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return def.Shapes, nil
}

// Deref is the value of an optional bound, 0 when absent.
func Deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
