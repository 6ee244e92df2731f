package engine

import "testing"

func TestQueued(t *testing.T) {
	env := testEnv()
	e, _ := New("e", "P", 1, pl(t, "A,B,C"), nil, Trigger{}, env.Now())
	d := Advance(e, env)
	a, b, c := d.Wave[0].ID, d.Wave[1].ID, d.Wave[2].ID
	if err := Complete(c, Result{Status: Succeeded, Summary: "done"}, env.Now())(e); err != nil {
		t.Fatal(err)
	}
	summary := func(id string) string { r, _ := e.Run(id); return r.Summary }
	steps := []struct {
		name    string
		ids     []string
		queued  bool
		a, b, c string
	}{
		// An ended run and an unknown run are left alone.
		{"queue all", []string{a, b, c, "nope"}, true, QueuedSummary, QueuedSummary, "done"},
		{"queue again", []string{a}, true, QueuedSummary, QueuedSummary, "done"},
		{"slot for A", []string{a}, false, "", QueuedSummary, "done"},
		{"slot for A again", []string{a, c}, false, "", QueuedSummary, "done"},
		{"slot for B", []string{b}, false, "", "", "done"},
	}
	for _, s := range steps {
		if err := Queued(s.ids, s.queued, env.Now())(e); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := [3]string{summary(a), summary(b), summary(c)}; got != [3]string{s.a, s.b, s.c} {
			t.Errorf("%s: summaries %q, want %q", s.name, got, [3]string{s.a, s.b, s.c})
		}
	}
	// Another summary of a running action is not the driver's to clear.
	r, _ := e.Run(a)
	r.Summary = "50% done"
	if err := Queued([]string{a}, false, env.Now())(e); err != nil || summary(a) != "50% done" {
		t.Errorf("clearing: %v, summary %q", err, summary(a))
	}
	if err := Queued([]string{a}, true, env.Now())(e); err != nil || summary(a) != "50% done" {
		t.Errorf("queuing over a summary: %v, summary %q", err, summary(a))
	}
}

func TestAbandonClearsQueued(t *testing.T) {
	env := testEnv()
	e, _ := New("e", "P", 1, pl(t, "A"), nil, Trigger{}, env.Now())
	d := Advance(e, env)
	if err := Queued([]string{d.Wave[0].ID}, true, env.Now())(e); err != nil {
		t.Fatal(err)
	}
	if err := RequestStop(true, "", "", env.Now())(e); err != nil {
		t.Fatal(err)
	}
	Advance(e, env)
	if r, _ := e.Run(d.Wave[0].ID); r.Status != Abandoned || r.Summary != "" {
		t.Errorf("abandoned queued run: %s, summary %q", r.Status, r.Summary)
	}
}
