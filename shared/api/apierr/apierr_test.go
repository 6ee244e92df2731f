package apierr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

func TestEveryCodeAndKindHasAnEntry(t *testing.T) {
	for _, c := range errs.Codes() {
		r, ok := table[c]
		if !ok {
			t.Errorf("code %s has no row", c)
			continue
		}
		if r.exceptions[errs.KindNone] == "" {
			t.Errorf("code %s has no exception of its own (KindNone)", c)
		}
		if r.status == 0 || r.restStatus == 0 {
			t.Errorf("code %s lacks a status", c)
		}
	}
	used := map[errs.Kind]bool{}
	for _, r := range table {
		for k := range r.exceptions {
			used[k] = true
		}
	}
	for _, k := range errs.Kinds() {
		if !used[k] {
			t.Errorf("kind %q appears in no row of the table", k)
		}
	}
}

// TestEveryPairBuiltHasAnEntry reads every non-test Go file of the module
// and checks that each errs.Of(errs.Code, errs.Kind…) call names a pair the
// table lists explicitly, and that kinds are never string literals.
func TestEveryPairBuiltHasAnEntry(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	fset := token.NewFileSet()
	calls := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSel(call.Fun, "errs", "Of") || len(call.Args) < 2 {
				return true
			}
			calls++
			pos := fset.Position(call.Pos())
			code, cok := selName(call.Args[0], "errs")
			kind, kok := selName(call.Args[1], "errs")
			switch {
			case !kok:
				if _, lit := call.Args[1].(*ast.BasicLit); lit {
					t.Errorf("%s: the kind is a string literal; use an errs.Kind constant", pos)
				}
				// A variable kind (a helper's parameter) is checked where
				// the helper is called, by the kind constants' own rows.
			case !cok:
				t.Errorf("%s: the code is not an errs constant", pos)
			default:
				r, ok := table[errs.Code(code)]
				if !ok {
					t.Errorf("%s: code %s has no row", pos, code)
					break
				}
				k := errs.Kind(strings.TrimPrefix(kind, "Kind"))
				if kind == "KindNone" {
					k = errs.KindNone
				}
				if _, ok := r.exceptions[k]; !ok {
					t.Errorf("%s: errs.Of(errs.%s, errs.%s) has no entry in the table", pos, code, kind)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 20 {
		t.Fatalf("found only %d errs.Of calls; is the walk looking at the module?", calls)
	}
}

func isSel(e ast.Expr, pkg, name string) bool {
	n, ok := selName(e, pkg)
	return ok && n == name
}

func selName(e ast.Expr, pkg string) (string, bool) {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	id, ok := s.X.(*ast.Ident)
	if !ok || id.Name != pkg {
		return "", false
	}
	return s.Sel.Name, true
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		door      Door
		status    int
		exception string
		internal  bool
	}{
		{"not found, CodePipeline door", errs.Of(errs.NotFound, errs.KindPipeline, "x"), CodePipeline, 400, "PipelineNotFoundException", false},
		{"not found, REST door", errs.Of(errs.NotFound, errs.KindPipeline, "x"), REST, 404, "PipelineNotFoundException", false},
		{"kind without an entry falls back", errs.Of(errs.Conflict, errs.KindStage, "x"), REST, 409, "ConflictException", false},
		{"structure", errs.Of(errs.Validation, errs.KindStructure, "x"), CodePipeline, 400, "InvalidStructureException", false},
		{"internal domain error hides detail", errs.New(errs.Internal, "disk full at /secret"), CodePipeline, 500, "InternalFailure", true},
		{"plain error hides detail", fs.ErrPermission, REST, 500, "InternalFailure", true},
		{"access denied", errs.Of(errs.Forbidden, errs.KindAccess, "no"), CodePipeline, http.StatusForbidden, "AccessDeniedException", false},
		{"too many tags", errs.Of(errs.LimitExceeded, errs.KindTags, "x"), CodePipeline, 400, "TooManyTagsException", false},
		{"invalid tags", errs.Of(errs.Validation, errs.KindTags, "x"), CodePipeline, 400, "InvalidTagsException", false},
		{"output variables too large", errs.Of(errs.LimitExceeded, errs.KindOutputVariables, "x"), CodePipeline, 400, "OutputVariablesSizeExceededException", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(tt.err, tt.door)
			if got.Status != tt.status || got.Exception != tt.exception || got.Internal != tt.internal {
				t.Fatalf("Describe = %+v, want status %d, %s, internal %v", got, tt.status, tt.exception, tt.internal)
			}
			if tt.internal && got.Message != "internal error" {
				t.Fatalf("an internal error's detail reached the message: %q", got.Message)
			}
		})
	}
}
