package actiontest

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Bucket is the artifact bucket of a Harness.
const Bucket = "test-artifacts"

// ArtifactKey is the object key of an artifact of the harness's execution.
func ArtifactKey(name string) string { return "P/e1/" + name + ".zip" }

// Harness holds what one provider run needs: a real artifact folder store
// and a work directory inside a parent directory that must stay otherwise
// empty.
type Harness struct {
	Store   *artifacts.Store
	Parent  string
	WorkDir string
	// Elapsed is how long the provider's Run took (set by RunCases).
	Elapsed time.Duration
}

// NewHarness makes a harness in t's temporary directories.
func NewHarness(t *testing.T) *Harness {
	t.Helper()
	parent := t.TempDir()
	workDir := filepath.Join(parent, "work")
	if err := os.Mkdir(workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Harness{Store: &artifacts.Store{Root: t.TempDir(), Bucket: Bucket}, Parent: parent, WorkDir: workDir}
}

// Input is an input artifact to store before the run: files to zip, or a
// zip built by hand (Raw).
type Input struct {
	Name  string
	Files map[string]string
	Raw   []byte
}

// Put stores an input artifact.
func (h *Harness) Put(t *testing.T, in Input) {
	t.Helper()
	data := in.Raw
	if data == nil {
		dir := t.TempDir()
		for name, content := range in.Files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := artifacts.ZipDir(dir, &buf); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	if _, err := h.Store.PutKey(t.Context(), ArtifactKey(in.Name), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// Artifact reads a stored artifact's zip: file name → content.
func (h *Harness) Artifact(t *testing.T, name string) map[string]string {
	t.Helper()
	f, size, err := h.Store.Open(t.Context(), artifacts.Location{Bucket: Bucket, Key: ArtifactKey(name)})
	if err != nil {
		t.Fatalf("output artifact %s: %v", name, err)
	}
	defer f.Close()
	zr, err := zip.NewReader(f, size)
	if err != nil {
		t.Fatalf("output artifact %s: %v", name, err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name] = string(b)
	}
	return out
}

// FindFiles lists the paths under root whose base name starts with prefix.
func FindFiles(t *testing.T, root, prefix string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), prefix) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// NoFile is a Case check: no file whose name starts with prefix was
// written anywhere under the harness's parent directory; what says what
// such a file would mean.
func NoFile(prefix, what string) func(t *testing.T, h *Harness, res *engine.Result, log string) {
	return func(t *testing.T, h *Harness, _ *engine.Result, _ string) {
		t.Helper()
		if found := FindFiles(t, h.Parent, prefix); len(found) > 0 {
			t.Errorf("%s: %v", what, found)
		}
	}
}

// Job builds the job of an action as the runner would: the run's resolved
// inputs are the declaration's (no variable references here), its artifact
// locations point into the harness's store.
func (h *Harness) Job(a pipeline.Action, timeoutMinutes int, log io.Writer) *actions.Job {
	run := engine.ActionRun{
		ID: "run-1", Token: "token-1", Stage: "Build", Action: a.Name, RunOrder: 1, Attempt: 1,
		Type: a.ActionTypeID, Status: engine.InProgress,
		Configuration: a.Configuration, Commands: a.Commands, TimeoutInMinutes: timeoutMinutes,
	}
	if a.EnvironmentVariables != nil {
		run.EnvironmentVariables = map[string]string{}
		for _, ev := range a.EnvironmentVariables {
			run.EnvironmentVariables[ev.Name] = ev.Value
		}
	}
	for _, in := range a.InputArtifacts {
		run.InputArtifacts = append(run.InputArtifacts, engine.ArtifactRef{Name: in.Name, Bucket: Bucket, Key: ArtifactKey(in.Name)})
	}
	for _, out := range a.OutputArtifacts {
		run.OutputArtifacts = append(run.OutputArtifacts, engine.ArtifactRef{Name: out.Name, Bucket: Bucket, Key: ArtifactKey(out.Name)})
	}
	return &actions.Job{
		PipelineName: "P", ExecutionID: "e1", Run: run, Action: a,
		WorkDir: h.WorkDir, Log: log, Artifacts: h.Store,
	}
}

// Case is one provider run and what it must give.
type Case struct {
	Name string
	// Provider runs the job; nil means RunCases' default.
	Provider actions.Provider
	Action   pipeline.Action
	// Inputs are stored first and become the action's input artifacts, in
	// order.
	Inputs         []Input
	TimeoutMinutes int

	Want    engine.Status
	Code    string            // wanted ErrorCode
	Msg     []string          // substrings of ErrorMessage
	Vars    map[string]string // wanted OutputVariables, exactly
	Outputs map[string]map[string]string
	Check   func(t *testing.T, h *Harness, res *engine.Result, log string)
}

// RunCases runs each case in a fresh harness with its provider, or def,
// which must run every job to its end.
func RunCases(t *testing.T, def func() actions.Provider, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			h := NewHarness(t)
			for _, in := range tc.Inputs {
				h.Put(t, in)
				tc.Action.InputArtifacts = append(tc.Action.InputArtifacts, pipeline.InputArtifact{Name: in.Name})
			}
			p := tc.Provider
			if p == nil {
				p = def()
			}
			var log bytes.Buffer
			start := time.Now()
			res := p.Run(t.Context(), h.Job(tc.Action, tc.TimeoutMinutes, &log))
			h.Elapsed = time.Since(start)
			if res == nil {
				t.Fatalf("Run returned no result; it must run the job to its end\nlog:\n%s", log.String())
			}
			if res.Status != tc.Want || res.ErrorCode != tc.Code {
				t.Fatalf("result %s/%q (%s), want %s/%q\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, tc.Want, tc.Code, log.String())
			}
			for _, m := range tc.Msg {
				if !strings.Contains(res.ErrorMessage, m) {
					t.Errorf("error message %q lacks %q", res.ErrorMessage, m)
				}
			}
			if tc.Want == engine.Failed && res.ErrorMessage == "" {
				t.Error("a failed result needs an error message")
			}
			if tc.Vars != nil || (tc.Check == nil && tc.Want == engine.Succeeded) {
				if !reflect.DeepEqual(res.OutputVariables, tc.Vars) {
					t.Errorf("output variables %v, want %v", res.OutputVariables, tc.Vars)
				}
			}
			for name, want := range tc.Outputs {
				if got := h.Artifact(t, name); !reflect.DeepEqual(got, want) {
					t.Errorf("artifact %s holds %v, want %v", name, got, want)
				}
			}
			if tc.Check != nil {
				tc.Check(t, h, res, log.String())
			}
		})
	}
}

// With returns a copy of a with changes applied.
func With(a pipeline.Action, change func(*pipeline.Action)) pipeline.Action {
	change(&a)
	return a
}

// Outputs declares output artifacts without files.
func Outputs(names ...string) []pipeline.OutputArtifact {
	var out []pipeline.OutputArtifact
	for _, n := range names {
		out = append(out, pipeline.OutputArtifact{Name: n})
	}
	return out
}

// LockedBuffer is a log written by a build's output copier while the test
// reads it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
