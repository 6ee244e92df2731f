package artifacts

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

func TestStorePutOpen(t *testing.T) {
	ctx := context.Background()
	s := &Store{Root: filepath.Join(t.TempDir(), "my-bucket")}
	loc, err := s.Put(ctx, "MyPipeline", "0b1c-22", "SourceArtifact", strings.NewReader("zipdata"))
	if err != nil {
		t.Fatal(err)
	}
	want := Location{Bucket: "my-bucket", Key: "MyPipeline/0b1c-22/SourceArtifact.zip"}
	if loc != want {
		t.Errorf("location %+v, want %+v", loc, want)
	}
	if p := s.Path("MyPipeline", "0b1c-22", "SourceArtifact"); p != filepath.Join(s.Root, "MyPipeline", "0b1c-22", "SourceArtifact.zip") {
		t.Errorf("path %s", p)
	}
	f, size, err := s.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if string(b) != "zipdata" || size != 7 {
		t.Errorf("read %q size %d", b, size)
	}

	// Put replaces; no temporary files stay behind.
	if _, err := s.Put(ctx, "MyPipeline", "0b1c-22", "SourceArtifact", strings.NewReader("v2")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root, "MyPipeline", "0b1c-22"))
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries", len(entries))
	}
}

func TestStoreEscapesComponents(t *testing.T) {
	s := &Store{Root: t.TempDir(), Bucket: "loc"}
	tests := []struct {
		pipeline, exec, name string
		wantKey              string
	}{
		{"p", "e", "a", "p/e/a.zip"},
		{"..", "e", "a", "%2E%2E/e/a.zip"},
		{"p", ".", "a", "p/%2E/a.zip"},
		{"a/b", "e", "../x", "a%2Fb/e/..%2Fx.zip"},
		{"p", "", "a b", "p/%/a%20b.zip"},
		{"p@1.x", "e", "100%", "p@1.x/e/100%25.zip"},
	}
	for _, tc := range tests {
		key := s.Key(tc.pipeline, tc.exec, tc.name)
		if key != tc.wantKey {
			t.Errorf("Key(%q,%q,%q) = %q, want %q", tc.pipeline, tc.exec, tc.name, key, tc.wantKey)
		}
		p := s.Path(tc.pipeline, tc.exec, tc.name)
		if rel, err := filepath.Rel(s.Root, p); err != nil || !filepath.IsLocal(rel) || strings.Count(filepath.ToSlash(rel), "/") != 2 {
			t.Errorf("path %s is not three components under the root", p)
		}
	}
}

func TestStoreOpenErrors(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := &Store{Root: filepath.Join(root, "b"), Bucket: "b"}
	if err := os.WriteFile(filepath.Join(root, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []Location{
		{Bucket: "b", Key: "p/e/missing.zip"},
		{Bucket: "other", Key: "p/e/a.zip"},
		{Bucket: "b", Key: "../secret"},
		{Bucket: "b", Key: "/etc/passwd"},
		{Bucket: "b", Key: ""},
	} {
		f, _, err := s.Open(ctx, loc)
		if err == nil {
			f.Close()
			t.Errorf("Open(%+v) succeeded", loc)
			continue
		}
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("Open(%+v) = %v, want NotFound", loc, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "p", "e", "a", strings.NewReader("x")); err == nil {
		t.Error("Put ignored a canceled context")
	}
}

func TestEscapeComponent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "%"}, {".", "%2E"}, {"..", "%2E%2E"}, {"...", "%2E%2E%2E"},
		{"a..b", "a..b"}, {".hidden", ".hidden"}, {".put-x", "%2Eput-x"},
		{"a/b", "a%2Fb"}, {"a%b", "a%25b"}, {"My-Pipe_1@x", "My-Pipe_1@x"},
	} {
		if got := EscapeComponent(tc.in); got != tc.want {
			t.Errorf("EscapeComponent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStoreDeleteExecution(t *testing.T) {
	ctx := context.Background()
	s := &Store{Root: filepath.Join(t.TempDir(), "bucket")}
	for _, a := range []struct{ pipeline, exec string }{
		{"P", "e1"}, {"P", "e2"}, {"..", "e1"}, {".", ".."},
	} {
		if _, err := s.Put(ctx, a.pipeline, a.exec, "Out", strings.NewReader("zip")); err != nil {
			t.Fatal(err)
		}
	}
	// Names that are path syntax stay inside their own escaped folder.
	for _, a := range []struct{ pipeline, exec string }{{"P", "e1"}, {"..", "e1"}, {".", ".."}, {"P", "none"}} {
		if err := s.DeleteExecution(a.pipeline, a.exec); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.Path(a.pipeline, a.exec, "Out")); !os.IsNotExist(err) {
			t.Errorf("%s/%s: artifact still there (%v)", a.pipeline, a.exec, err)
		}
	}
	if _, err := os.Stat(s.Path("P", "e2", "Out")); err != nil {
		t.Errorf("another execution's artifact: %v", err)
	}
	if _, err := os.Stat(s.Root); err != nil {
		t.Errorf("the root: %v", err)
	}
}
