package sqlite

import (
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// deepCopy returns a copy of *src that shares no mutable memory with it: every
// pointer, slice and map reachable through exported fields is copied.
// Unexported fields are copied shallowly (time.Time's *Location is
// immutable). The copier of each type is compiled once by reflection, so
// fields added to the engine's types later are handled without changes here.
// Cycles are not supported (the records are trees).
func deepCopy[T any](src *T) *T {
	dst := new(T)
	*dst = *src
	c := copierOf(reflect.TypeFor[T]())
	if c.deep {
		c.fix(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
	}
	return dst
}

// copier deep-copies values of one type. fix is called with dst already
// holding a shallow copy of src and replaces what dst shares with src; it is
// nil when the type holds no references (deep is false).
type copier struct {
	deep bool
	fix  func(dst, src reflect.Value)
}

var (
	copiers   sync.Map   // reflect.Type → *copier, complete ones only
	copiersMu sync.Mutex // serializes the compilation of new copiers
)

func copierOf(t reflect.Type) *copier {
	if c, ok := copiers.Load(t); ok {
		return c.(*copier)
	}
	copiersMu.Lock()
	defer copiersMu.Unlock()
	building := map[reflect.Type]*copier{}
	c := compile(t, building)
	for t, c := range building {
		copiers.Store(t, c)
	}
	return c
}

var (
	stringMapType   = reflect.TypeFor[map[string]string]()
	stringSliceType = reflect.TypeFor[[]string]()
)

// compile builds the copier of t and of the types it holds. A type met again
// while its copier is being built (a recursive type, necessarily through a
// pointer, slice or map, so deep) gets the same, later completed, copier.
func compile(t reflect.Type, building map[reflect.Type]*copier) *copier {
	if c, ok := copiers.Load(t); ok {
		return c.(*copier)
	}
	if c, ok := building[t]; ok {
		return c
	}
	// Reference types are deep whatever they refer to; marking them before
	// compiling their elements lets recursive types see it.
	c := &copier{deep: isRef(t)}
	building[t] = c
	switch t.Kind() {
	case reflect.Pointer:
		elem := compile(t.Elem(), building)
		c.fix = func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			n := reflect.New(t.Elem())
			n.Elem().Set(src.Elem())
			if elem.deep {
				elem.fix(n.Elem(), src.Elem())
			}
			dst.Set(n)
		}
	case reflect.Slice:
		elem := compile(t.Elem(), building)
		if t == stringSliceType {
			c.fix = func(dst, src reflect.Value) {
				if !src.IsNil() {
					dst.Set(reflect.ValueOf(slices.Clone(src.Interface().([]string))))
				}
			}
			break
		}
		c.fix = func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			n := reflect.MakeSlice(t, src.Len(), src.Len())
			reflect.Copy(n, src)
			if elem.deep {
				for i := range src.Len() {
					elem.fix(n.Index(i), src.Index(i))
				}
			}
			dst.Set(n)
		}
	case reflect.Map:
		key, elem := compile(t.Key(), building), compile(t.Elem(), building)
		if t == stringMapType {
			c.fix = func(dst, src reflect.Value) {
				if !src.IsNil() {
					dst.Set(reflect.ValueOf(maps.Clone(src.Interface().(map[string]string))))
				}
			}
			break
		}
		c.fix = func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			n := reflect.MakeMapWithSize(t, src.Len())
			it := src.MapRange()
			for it.Next() {
				k, v := it.Key(), it.Value()
				if key.deep {
					kc := reflect.New(t.Key()).Elem()
					kc.Set(k)
					key.fix(kc, k)
					k = kc
				}
				if elem.deep {
					vc := reflect.New(t.Elem()).Elem()
					vc.Set(v)
					elem.fix(vc, v)
					v = vc
				}
				n.SetMapIndex(k, v)
			}
			dst.Set(n)
		}
	case reflect.Interface:
		c.fix = func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			inner := src.Elem()
			ic := copierOf(inner.Type())
			if !ic.deep {
				return // dst already holds the same immutable value
			}
			n := reflect.New(inner.Type()).Elem()
			n.Set(inner)
			ic.fix(n, inner)
			dst.Set(n)
		}
	case reflect.Array:
		elem := compile(t.Elem(), building)
		if elem.deep {
			c.deep = true
			c.fix = func(dst, src reflect.Value) {
				for i := range src.Len() {
					elem.fix(dst.Index(i), src.Index(i))
				}
			}
		}
	case reflect.Struct:
		type field struct {
			index int
			c     *copier
		}
		var fields []field
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if fc := compile(f.Type, building); fc.deep {
				fields = append(fields, field{i, fc})
			}
		}
		if len(fields) > 0 {
			c.deep = true
			c.fix = func(dst, src reflect.Value) {
				for _, f := range fields {
					f.c.fix(dst.Field(f.index), src.Field(f.index))
				}
			}
		}
	}
	return c
}

// isRef reports whether values of t refer to memory they do not hold.
func isRef(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

// copyForCache returns a copy of e for the execution cache. It shares with e
// what never changes, as engine.Execution allows: the pipeline snapshot and
// the maps and slices of the action runs that have ended. Everything else is
// copied deeply.
func copyForCache(e *engine.Execution) *engine.Execution {
	h := *e
	h.Pipeline = pipeline.Pipeline{}
	h.Actions = nil
	c := deepCopy(&h)
	c.Pipeline = e.Pipeline
	if e.Actions != nil {
		// Room for every action of the pipeline, so that the engine's
		// appends of the runs still to come do not copy the slice again.
		planned := 0
		for i := range e.Pipeline.Stages {
			planned += len(e.Pipeline.Stages[i].Actions)
		}
		c.Actions = make([]engine.ActionRun, len(e.Actions), max(len(e.Actions), planned))
		for i := range e.Actions {
			if r := &e.Actions[i]; r.Status.Terminal() {
				c.Actions[i] = *r
			} else {
				c.Actions[i] = *deepCopy(r)
			}
		}
	}
	return c
}
