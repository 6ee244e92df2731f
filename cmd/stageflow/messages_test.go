package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// misspellings are typos once found in (or typical of) messages.
var misspellings = []string{
	"rejectd", "approvd", "succeded", "successfull", "recieve", "occured", "seperate", "existant",
	"paramter", "pipleine", "pipline", "exection", "excution", "artefact", "stoped", "cancelation",
	"wich", "teh", "adress", "sucess", "enviroment", "lenght", "untill", "proccess",
}

var (
	wordRE     = regexp.MustCompile(`[A-Za-z]+`)
	doubledRE  = regexp.MustCompile(`(?i)\b([a-z]+)[ :]+([a-z]+)\b`)
	statusWord = map[string]bool{"stopped": true, "failed": true, "rejected": true, "approved": true, "succeeded": true}
)

// TestMessagesHaveNoTyposOrDoubledWords reads every string literal of the
// command line and of shared/ (tests aside) and fails on a known
// misspelling or a word written twice in a row ("the the",
// "stopped: stopped").
func TestMessagesHaveNoTyposOrDoubledWords(t *testing.T) {
	var files []string
	for _, root := range []string{".", "../../shared"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) < 50 {
		t.Fatalf("only %d Go files found", len(files))
	}
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range messageProblems(s) {
				t.Errorf("%s: %s in %q", fset.Position(lit.Pos()), m, s)
			}
			return true
		})
	}
}

// messageProblems lists the misspellings and doubled words of a message.
func messageProblems(s string) []string {
	var out []string
	for _, w := range wordRE.FindAllString(s, -1) {
		for _, m := range misspellings {
			if strings.EqualFold(w, m) {
				out = append(out, "misspelling "+strconv.Quote(w))
			}
		}
	}
	// Overlapping pairs: look at each position.
	for i := 0; i < len(s); {
		m := doubledRE.FindStringSubmatchIndex(s[i:])
		if m == nil {
			break
		}
		a, b := s[i+m[2]:i+m[3]], s[i+m[4]:i+m[5]]
		sep := s[i+m[3] : i+m[4]]
		placeholder := a != b && b == strings.ToUpper(b) // --stage STAGE
		if strings.EqualFold(a, b) && !placeholder && (strings.TrimSpace(sep) == "" || statusWord[strings.ToLower(a)]) {
			out = append(out, "doubled word "+strconv.Quote(a+sep+b))
		}
		i += m[3]
	}
	return out
}

func TestMessageProblems(t *testing.T) {
	for s, want := range map[string]int{
		"approval rejectd":               1,
		"the the pipeline":               1,
		"stopped: stopped: by the user":  1,
		"stopped: by the user":           0,
		"it is what it is":               0,
		"%s: %s":                         0,
		"Stopped: interrupted":           0,
		"a pipeline of pipeline version": 0,
		"The the":                        1,
		"--stage STAGE":                  0,
	} {
		if got := messageProblems(s); len(got) != want {
			t.Errorf("messageProblems(%q) = %q, want %d", s, got, want)
		}
	}
}
