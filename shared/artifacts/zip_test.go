package artifacts

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tree describes files by slash path: content and mode. A path ending in
// "/" is a directory.
type entry struct {
	content string
	mode    fs.FileMode
}

func writeTree(t *testing.T, dir string, files map[string]entry) {
	t.Helper()
	for name, e := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, e.mode); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(e.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, e.mode); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree lists regular files and directories under dir with their modes.
func readTree(t *testing.T, dir string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			got[name+"/"] = entry{mode: info.Mode().Perm()}
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[name] = entry{content: string(b), mode: info.Mode().Perm()}
		default:
			got[name+"@"] = entry{mode: info.Mode()}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func zipNames(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

func TestZipDirRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]entry{
		"README.md":           {"hello\n", 0o644},
		"bin/run.sh":          {"#!/bin/sh\necho hi\n", 0o755},
		"bin/":                {mode: 0o755},
		"src/a/b/deep.txt":    {"deep", 0o640},
		"src/a/":              {mode: 0o750},
		"src/a/b/":            {mode: 0o755},
		"src/":                {mode: 0o755},
		"empty/":              {mode: 0o700},
		"readonly.txt":        {"ro", 0o444},
		"space name/ü ñ.json": {"{}", 0o644},
		"space name/":         {mode: 0o755},
	}
	writeTree(t, src, files)
	if err := os.Symlink("README.md", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(src, "bin", "etc")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := ZipDir(src, &buf); err != nil {
		t.Fatal(err)
	}
	for _, n := range zipNames(t, buf.Bytes()) {
		if strings.Contains(n, `\`) || strings.HasPrefix(n, "/") || strings.Contains(n, "link") || strings.HasSuffix(n, "etc") {
			t.Errorf("unexpected entry name %q", n)
		}
	}

	dest := filepath.Join(t.TempDir(), "out")
	if err := Unzip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dest)
	if len(got) != len(files) {
		t.Errorf("got %d entries, want %d: %v", len(got), len(files), got)
	}
	for name, want := range files {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing after round trip", name)
			continue
		}
		if g != want {
			t.Errorf("%s: got %+v, want %+v", name, g, want)
		}
	}
}

func TestZipFiles(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]entry{
		"dist/app.js":       {"js", 0o644},
		"dist/lib/x.js":     {"x", 0o644},
		"tool":              {"#!/bin/sh\n", 0o755},
		"other/ignored.txt": {"no", 0o644},
	})
	tests := []struct {
		name    string
		files   []string
		want    []string
		wantErr string
	}{
		{"file", []string{"tool"}, []string{"tool"}, ""},
		{"directory recursively", []string{"dist"}, []string{"dist/", "dist/app.js", "dist/lib/", "dist/lib/x.js"}, ""},
		{"overlap kept once", []string{"dist/lib/x.js", "dist/lib", "tool"}, []string{"dist/lib/", "dist/lib/x.js", "tool"}, ""},
		{"escape refused", []string{"../etc/passwd"}, nil, "not inside"},
		{"absolute refused", []string{"/etc/passwd"}, nil, "not inside"},
		{"missing", []string{"nope"}, nil, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := ZipFiles(src, tc.files, &buf)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := zipNames(t, buf.Bytes())
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("entries %v, want %v", got, tc.want)
			}
		})
	}
	// The executable bit survives ZipFiles -> Unzip.
	var buf bytes.Buffer
	if err := ZipFiles(src, []string{"tool"}, &buf); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := Unzip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dest, "tool"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("tool mode %v, want 0755", info.Mode().Perm())
	}
}

// rawEntry is one entry of a hand-made zip.
type rawEntry struct {
	name string
	mode fs.FileMode
	body string
}

func craftZip(t *testing.T, entries []rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnzipRejectsUnsafeEntries(t *testing.T) {
	tests := []struct {
		name    string
		entries []rawEntry
		bad     string // the entry the error must name
	}{
		{"parent", []rawEntry{{name: "ok.txt", body: "fine"}, {name: "../evil", body: "x"}}, "../evil"},
		{"absolute", []rawEntry{{name: "/abs", body: "x"}}, "/abs"},
		{"absolute tmp", []rawEntry{{name: "/tmp/evil", body: "x"}}, "/tmp/evil"},
		{"dotdot inside", []rawEntry{{name: "a/../../b", body: "x"}}, "a/../../b"},
		{"dot then parent", []rawEntry{{name: "./../evil", body: "x"}}, "./../evil"},
		{"backslash", []rawEntry{{name: `..\evil`, body: "x"}}, `..\\evil`},
		{"parent dir entry", []rawEntry{{name: "../d/", mode: fs.ModeDir | 0o755}}, "../d/"},
		{"symlink", []rawEntry{{name: "link", mode: fs.ModeSymlink | 0o777, body: "/etc"}, {name: "link/passwd", body: "x"}}, "link"},
		{"relative symlink", []rawEntry{{name: "up", mode: fs.ModeSymlink | 0o777, body: ".."}}, "up"},
		{"fifo", []rawEntry{{name: "pipe", mode: fs.ModeNamedPipe | 0o644}}, "pipe"},
		{"empty name", []rawEntry{{name: "", body: "x"}}, `""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dest := filepath.Join(base, "a", "dest")
			data := craftZip(t, tc.entries)
			err := Unzip(bytes.NewReader(data), int64(len(data)), dest)
			if err == nil {
				t.Fatal("Unzip accepted an unsafe archive")
			}
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Errorf("err = %v, want ErrUnsafeEntry", err)
			}
			if !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("err = %v, want it to name %s", err, tc.bad)
			}
			// Nothing is written: every entry is checked first.
			var found []string
			filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					found = append(found, p)
				}
				return nil
			})
			if len(found) > 0 {
				t.Errorf("files written: %v", found)
			}
		})
	}
}

func TestUnzipCleansHarmlessDots(t *testing.T) {
	data := craftZip(t, []rawEntry{{name: "a/../b.txt", body: "b"}, {name: "./c/./d.txt", body: "d"}, {name: "./", mode: fs.ModeDir | 0o755}})
	dest := t.TempDir()
	if err := Unzip(bytes.NewReader(data), int64(len(data)), dest); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dest)
	if got["b.txt"].content != "b" || got["c/d.txt"].content != "d" {
		t.Errorf("tree %v", got)
	}
}

func TestUnzipDoesNotFollowSymlinkOutOfDest(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	dest := filepath.Join(base, "dest")
	for _, d := range []string{outside, dest} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dest, "out")); err != nil {
		t.Fatal(err)
	}
	data := craftZip(t, []rawEntry{{name: "out/evil", body: "x"}})
	if err := Unzip(bytes.NewReader(data), int64(len(data)), dest); err == nil {
		t.Fatal("Unzip wrote through a symlink leaving dest")
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file written outside dest: %v", err)
	}
}

func TestUnzipSizeCap(t *testing.T) {
	big := strings.Repeat("0", 1<<20)
	tests := []struct {
		name    string
		entries []rawEntry
		limit   int64
		wantErr bool
	}{
		{"under the cap", []rawEntry{{name: "a", body: big}}, 1 << 20, false},
		{"one big file", []rawEntry{{name: "a", body: big}}, 1<<20 - 1, true},
		{"many files add up", []rawEntry{{name: "a", body: big[:600]}, {name: "b", body: big[:600]}}, 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := craftZip(t, tc.entries)
			dest := t.TempDir()
			err := UnzipLimit(bytes.NewReader(data), int64(len(data)), dest, tc.limit)
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if got := readTree(t, dest); len(got) != 0 {
				t.Errorf("wrote %d entries before refusing", len(got))
			}
		})
	}
}

// A header may under-state the size; unpacking must still stop.
func TestUnzipLyingHeader(t *testing.T) {
	body := bytes.Repeat([]byte{0}, 1<<20)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bomb", Method: zip.Deflate, CompressedSize64: uint64(comp.Len()), UncompressedSize64: 10}
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()

	dest := t.TempDir()
	err = UnzipLimit(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest, 4096)
	if err == nil {
		t.Fatal("lying header accepted")
	}
	if info, err := os.Stat(filepath.Join(dest, "bomb")); err == nil && info.Size() > 4096 {
		t.Errorf("wrote %d bytes past the cap", info.Size())
	}
}

func TestUnzipNotAZip(t *testing.T) {
	data := []byte("definitely not a zip")
	if err := Unzip(bytes.NewReader(data), int64(len(data)), t.TempDir()); err == nil {
		t.Fatal("garbage accepted")
	}
}
