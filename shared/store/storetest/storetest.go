// Package storetest is the conformance suite of store.Store: every
// implementation runs it from its own tests.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "stageflow.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// newStore must return an empty store and arrange for it to be closed (with
// t.Cleanup); it is called once per subtest, possibly from parallel subtests.
package storetest

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Pipelines", pipelineTests},
		{"Executions", executionTests},
		{"Jobs", jobTests},
		{"ActionTypes", actionTypeTests},
		{"Tags", tagTests},
		{"AccessKeys", accessKeyTests},
		{"Retention", retentionTests},
		{"Locks", lockTests},
		{"Connections", connectionTests},
		{"Webhooks", webhookTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

// test is one case of the suite; each gets a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// t0 is the suite's reference time: not UTC and with nanoseconds, so that
// a store that truncates or mishandles zones is caught.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+1", 3600))

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// wantCode fails unless err is an *errs.Error with the code and, when kind is
// not empty, the kind.
func wantCode(t *testing.T, err error, code errs.Code, kind errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("got %T %q, want an *errs.Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %s (%q), want %s", e.Code, err, code)
	}
	if kind != "" && e.Kind != kind {
		t.Fatalf("got kind %q (%q), want %q", e.Kind, err, kind)
	}
}

// must fails the test on a non-nil error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sameTime fails unless got and want are the same instant.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// deepEqual fails with both values as JSON when they differ.
func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s differs\n got: %s\nwant: %s", what, g, w)
	}
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
