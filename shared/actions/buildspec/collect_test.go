package buildspec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func makeTree(t *testing.T, files map[string]os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for name, mode := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSelect(t *testing.T) {
	src := makeTree(t, map[string]os.FileMode{
		"appspec.yml":                            0o644,
		"README.md":                              0o644,
		".hidden":                                0o644,
		"dist/index.html":                        0o644,
		"dist/app.js":                            0o644,
		"dist/app.js.map":                        0o644,
		"dist/assets/logo.png":                   0o644,
		"dist/assets/fonts/a.woff":               0o644,
		"bin/tool":                               0o755,
		"my-build1/my-file1.txt":                 0o644,
		"my-build2/my-file2.txt":                 0o644,
		"my-build2/my-subdirectory/my-file3.txt": 0o644,
		"dup/a/same.txt":                         0o644,
		"dup/b/same.txt":                         0o644,
	})
	if err := os.Symlink("appspec.yml", filepath.Join(src, "link-to-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dist", filepath.Join(src, "link-to-dir")); err != nil {
		t.Fatal(err)
	}
	all := []string{".hidden", "README.md", "appspec.yml", "bin/tool", "dist/app.js", "dist/app.js.map", "dist/assets/fonts/a.woff", "dist/assets/logo.png", "dist/index.html", "dup/a/same.txt", "dup/b/same.txt", "link-to-file", "my-build1/my-file1.txt", "my-build2/my-file2.txt", "my-build2/my-subdirectory/my-file3.txt"}

	tests := []struct {
		name    string
		spec    ArtifactSpec
		want    []string
		wantErr string
	}{
		{"everything", ArtifactSpec{Files: []string{"**/*"}}, all, ""},
		{"dot means everything", ArtifactSpec{Files: []string{"."}}, all, ""},
		{"one subtree", ArtifactSpec{Files: []string{"dist/**/*"}}, []string{"dist/app.js", "dist/app.js.map", "dist/assets/fonts/a.woff", "dist/assets/logo.png", "dist/index.html"}, ""},
		{"one level", ArtifactSpec{Files: []string{"dist/*"}}, []string{"dist/app.js", "dist/app.js.map", "dist/index.html"}, ""},
		{"double star alone", ArtifactSpec{Files: []string{"dist/**"}}, []string{"dist/app.js", "dist/app.js.map", "dist/assets/fonts/a.woff", "dist/assets/logo.png", "dist/index.html"}, ""},
		{"directory name takes its tree", ArtifactSpec{Files: []string{"dist/assets"}}, []string{"dist/assets/fonts/a.woff", "dist/assets/logo.png"}, ""},
		{"plain paths", ArtifactSpec{Files: []string{"appspec.yml", "./bin/tool"}}, []string{"appspec.yml", "bin/tool"}, ""},
		{"extension anywhere", ArtifactSpec{Files: []string{"**/*.txt"}}, []string{"dup/a/same.txt", "dup/b/same.txt", "my-build1/my-file1.txt", "my-build2/my-file2.txt", "my-build2/my-subdirectory/my-file3.txt"}, ""},
		{"exclude", ArtifactSpec{Files: []string{"dist/**/*"}, ExcludePaths: []string{"**/*.map", "dist/assets"}}, []string{"dist/app.js", "dist/index.html"}, ""},
		{"base directory", ArtifactSpec{Files: []string{"**/*"}, BaseDirectory: "dist/assets"}, []string{"fonts/a.woff", "logo.png"}, ""},
		{"discard paths", ArtifactSpec{Files: []string{"dist/**/*"}, DiscardPaths: true, ExcludePaths: []string{"*.map", "**/*.map"}}, []string{"a.woff", "app.js", "index.html", "logo.png"}, ""},
		// The two examples of the CodeBuild buildspec reference.
		{"docs example: base directory", ArtifactSpec{Files: []string{"*/my-file3.txt"}, BaseDirectory: "my-build2"}, []string{"my-subdirectory/my-file3.txt"}, ""},
		{"docs example: base directory pattern", ArtifactSpec{Files: []string{"**/*"}, BaseDirectory: "my-build*", DiscardPaths: true}, []string{"my-file1.txt", "my-file2.txt", "my-file3.txt"}, ""},
		{"no match", ArtifactSpec{Files: []string{"build/**/*"}}, nil, `artifacts.files: no file matches "build/**/*"`},
		{"no match in base", ArtifactSpec{Files: []string{"*.exe"}, BaseDirectory: "dist", field: "artifacts.secondary-artifacts.bin"}, nil, `artifacts.secondary-artifacts.bin.files: no file matches "*.exe" in base directory "dist"`},
		{"missing base", ArtifactSpec{Files: []string{"**/*"}, BaseDirectory: "out"}, nil, `artifacts.base-directory: "out" is not a directory`},
		{"discard collision", ArtifactSpec{Files: []string{"dup/**/*"}, DiscardPaths: true}, nil, `would both be stored as "same.txt"`},
		{"escape refused", ArtifactSpec{Files: []string{"../x"}}, nil, "must not leave the source directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Select(src, tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("names\n got %v\nwant %v", names, tc.want)
			}
		})
	}
}

func TestCollectCopiesWithModes(t *testing.T) {
	src := makeTree(t, map[string]os.FileMode{
		"dist/app.js":   0o644,
		"dist/run.sh":   0o755,
		"docs/a.md":     0o644,
		"docs/sub/b.md": 0o600,
	})
	spec, err := Parse([]byte(`version: 0.2
phases: {}
artifacts:
  base-directory: dist
  files: ['**/*']
  secondary-artifacts:
    docs:
      files: ['docs/**/*']
      discard-paths: yes
`))
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "primary")
	names, err := Collect(src, spec.Artifacts.ArtifactSpec, dest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"app.js", "run.sh"}) {
		t.Errorf("names %v", names)
	}
	info, err := os.Stat(filepath.Join(dest, "run.sh"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", info, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "app.js")); string(b) != "content of dist/app.js" {
		t.Errorf("app.js holds %q", b)
	}

	docsDest := filepath.Join(t.TempDir(), "docs")
	names, err = Collect(src, spec.Artifacts.Secondary["docs"], docsDest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"a.md", "b.md"}) {
		t.Errorf("docs names %v", names)
	}
	if info, err := os.Stat(filepath.Join(docsDest, "b.md")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("b.md: %v %v", info, err)
	}

	// An error names the secondary artifact's field.
	_, err = Collect(src, ArtifactSpec{Files: []string{"nothing/*"}, field: "artifacts.secondary-artifacts.docs"}, t.TempDir())
	if err == nil || !strings.HasPrefix(err.Error(), "artifacts.secondary-artifacts.docs.files: no file matches") {
		t.Errorf("err = %v", err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*", "a", true},
		{"**/*", "a/b/c", true},
		{"a/**/*", "a/b", true},
		{"a/**/*", "a/b/c", true},
		{"a/**/*", "b/a/c", false},
		{"**/c", "c", true},
		{"**/c", "a/b/c", true},
		{"a/**/c", "a/c", true},
		{"a/**/**/c", "a/x/y/c", true},
		{"*.js", "a.js", true},
		{"*.js", "d/a.js", false},
		{"a/?.txt", "a/b.txt", true},
		{"a/[bc].txt", "a/d.txt", false},
		{"a", "a", true},
		{"a", "ab", false},
	}
	for _, tc := range tests {
		if got := match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
