package sqlite

import (
	"reflect"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

// fill sets every exported field reachable from v to a non-zero value
// (slices and maps get two elements), so the check below covers fields added
// to the engine's and pipeline's types later.
func fill(v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		fill(n.Elem(), depth+1)
		v.Set(n)
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(n.Index(i), depth+1)
		}
		v.Set(n)
	case reflect.Map:
		n := reflect.MakeMap(v.Type())
		for i := range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, depth+1)
			if k.Kind() == reflect.String {
				k.SetString(string(rune('a' + i)))
			}
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, depth+1)
			n.SetMapIndex(k, e)
		}
		v.Set(n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), depth+1)
		}
	}
}

// disjoint fails when a and b share a pointer, a slice's backing array or a
// map reachable through exported fields.
func disjoint(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: pointer shared", path)
		}
		disjoint(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: slice shared", path)
		}
		for i := range a.Len() {
			disjoint(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: map shared", path)
		}
		for _, k := range a.MapKeys() {
			disjoint(t, path+"{}", a.MapIndex(k), b.MapIndex(k))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				disjoint(t, path+"."+f.Name, a.Field(i), b.Field(i))
			}
		}
	}
}

func TestDeepCopyExecution(t *testing.T) {
	var e engine.Execution
	fill(reflect.ValueOf(&e).Elem(), 0)
	c := deepCopy(&e)
	if !reflect.DeepEqual(c, &e) {
		t.Fatal("copy differs from the original")
	}
	disjoint(t, "Execution", reflect.ValueOf(c).Elem(), reflect.ValueOf(&e).Elem())

	// nil and empty stay as they are.
	var z engine.Execution
	z.Actions = []engine.ActionRun{}
	cz := deepCopy(&z)
	if cz.Actions == nil || len(cz.Actions) != 0 || cz.Variables != nil || cz.Stop != nil {
		t.Fatalf("nil/empty not preserved: %+v", cz)
	}
}

func TestDeepCopyRecursiveType(t *testing.T) {
	type node struct {
		Name     string
		Next     *node
		Children []*node
		Attrs    map[string]any
	}
	n := &node{Name: "root", Next: &node{Name: "next"}, Children: []*node{{Name: "leaf", Attrs: map[string]any{"k": []int{1, 2}}}}}
	c := deepCopy(n)
	if !reflect.DeepEqual(c, n) {
		t.Fatal("copy differs")
	}
	if c.Next == n.Next || c.Children[0] == n.Children[0] {
		t.Fatal("pointer shared")
	}
	c.Children[0].Attrs["k"].([]int)[0] = 9
	if n.Children[0].Attrs["k"].([]int)[0] != 1 {
		t.Fatal("interface value shared")
	}
}

func BenchmarkDeepCopyExecution(b *testing.B) {
	e := benchExecution("exec-1")
	b.ReportAllocs()
	for b.Loop() {
		deepCopy(e)
	}
}
