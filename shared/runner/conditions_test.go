package runner_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/service"
)

// Stage conditions run by the local runner: beforeEntry and onSuccess with
// VariableCheck, DeploymentWindow (waiting for its window with a timer),
// Commands (run as a Commands action) rules, their results (FAIL, SKIP),
// and OverrideStageCondition.

func rule(name, provider string, kv ...string) pipeline.Rule {
	r := pipeline.Rule{Name: name, RuleTypeID: pipeline.RuleTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: provider, Version: "1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if r.Configuration == nil {
			r.Configuration = map[string]string{}
		}
		r.Configuration[kv[i]] = kv[i+1]
	}
	return r
}

func varCheck(op, value string) pipeline.Rule {
	return rule("Check", pipeline.RuleVariableCheck, "Operator", op, "Variable", "#{variables.ENV}", "Value", value)
}

// conditioned loads a V2 pipeline: stage Gate (one action) with the given
// conditions, then stage After.
func conditioned(t *testing.T, name string, entry, success []pipeline.Condition) pipeline.Pipeline {
	t.Helper()
	dev := "dev"
	gate := stage("Gate", scripted("G", 1))
	if entry != nil {
		gate.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: entry}
	}
	if success != nil {
		gate.OnSuccess = &pipeline.SuccessConditions{Conditions: success}
	}
	p := pipeline.Pipeline{Name: name, PipelineType: pipeline.TypeV2, Stages: []pipeline.Stage{gate, stage("After", scripted("A", 1))},
		Variables: []pipeline.VariableDeclaration{{Name: "ENV", DefaultValue: &dev}}}
	return loaded(t, p)
}

func TestStageConditions(t *testing.T) {
	cond := func(result string, rules ...pipeline.Rule) []pipeline.Condition {
		return []pipeline.Condition{{Result: result, Rules: rules}}
	}
	tests := []struct {
		name           string
		entry, success []pipeline.Condition
		env            string
		want           engine.Status
		gate, after    engine.Status // the stages' statuses
		summary        string
	}{
		{"entry met", cond("", varCheck("EQ", "dev")), nil, "", engine.Succeeded, engine.Succeeded, engine.Succeeded, ""},
		{"entry fails the stage", cond(pipeline.ResultFail, varCheck("EQ", "prod")), nil, "", engine.Failed, engine.Failed, "", `the beforeEntry condition of stage "Gate" failed: Check: #{variables.ENV} is "dev": EQ "prod" does not hold`},
		{"entry skips the stage", cond(pipeline.ResultSkip, varCheck("EQ", "prod")), nil, "", engine.Succeeded, engine.Skipped, engine.Succeeded, ""},
		{"a value given at start", cond(pipeline.ResultFail, varCheck("EQ", "prod")), nil, "prod", engine.Succeeded, engine.Succeeded, engine.Succeeded, ""},
		{"onSuccess fails the stage", nil, cond(pipeline.ResultFail, varCheck("NE", "dev")), "", engine.Failed, engine.Failed, "", `the onSuccess condition of stage "Gate" failed`},
		{"a Commands rule", cond("", pipeline.Rule{Name: "Sh", RuleTypeID: pipeline.RuleTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: pipeline.RuleCommands, Version: "1"},
			Commands: []string{`test "#{variables.ENV}" = dev`}}), nil, "", engine.Succeeded, engine.Succeeded, engine.Succeeded, ""},
		{"a failing Commands rule", cond("", pipeline.Rule{Name: "Sh", RuleTypeID: pipeline.RuleTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: pipeline.RuleCommands, Version: "1"},
			Commands: []string{"exit 3"}}), nil, "", engine.Failed, engine.Failed, "", "Sh:"},
		{"a rule that needs AWS", cond("", rule("Alarm", pipeline.RuleCloudWatchAlarm, "AlarmName", "high-error-rate")), nil, "", engine.Failed, engine.Failed, "", "they need Amazon CloudWatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, "")
			createPipeline(t, s.store, conditioned(t, "c", tt.entry, tt.success))
			var vars map[string]string
			if tt.env != "" {
				vars = map[string]string{"ENV": tt.env}
			}
			e := s.wait(t, s.start(t, "c", vars, "").ID)
			if e.Status != tt.want || e.Stages[0].Status != tt.gate || e.Stages[1].Status != tt.after || !strings.Contains(e.StatusSummary, tt.summary) {
				t.Fatalf("execution %s %q, stages %s/%s; want %s …%s…, %s/%s", e.Status, e.StatusSummary, e.Stages[0].Status, e.Stages[1].Status, tt.want, tt.summary, tt.gate, tt.after)
			}
			if len(e.Conditions) != 1 || len(e.Conditions[0].Rules) != 1 || !e.Conditions[0].Rules[0].Status.Terminal() {
				t.Fatalf("condition runs %+v", e.Conditions)
			}
			if _, ran := e.LatestRun("Gate", "G"); ran != (tt.entry == nil || tt.gate == engine.Succeeded) {
				t.Errorf("the stage's action ran: %v", ran)
			}
		})
	}
}

// windowTimers replaces the runner's timers: the test fires them.
type windowTimers struct {
	mu     sync.Mutex
	armed  []windowTimer
	signal chan struct{}
}

type windowTimer struct {
	d       time.Duration
	f       func()
	stopped *bool
}

func (ft *windowTimers) after(d time.Duration, f func()) func() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	stopped := new(bool)
	ft.armed = append(ft.armed, windowTimer{d, f, stopped})
	select {
	case ft.signal <- struct{}{}:
	default:
	}
	return func() { ft.mu.Lock(); *stopped = true; ft.mu.Unlock() }
}

// waitArmed waits for a timer armed for about d (within a second) and
// returns its function.
func (ft *windowTimers) waitArmed(t *testing.T, d time.Duration) func() {
	t.Helper()
	deadline := time.After(patience)
	for {
		ft.mu.Lock()
		for _, tm := range ft.armed {
			if !*tm.stopped && tm.d > d-time.Second && tm.d <= d+time.Second {
				ft.mu.Unlock()
				return tm.f
			}
		}
		ft.mu.Unlock()
		select {
		case <-ft.signal:
		case <-deadline:
			t.Fatalf("no timer armed for %s", d)
		}
	}
}

// TestDeploymentWindowWaits: an entry condition whose window is closed keeps
// the execution before the stage's actions, a timer set for the moment it
// opens; then the stage runs. A second execution's closed window is
// overridden instead.
func TestDeploymentWindowWaits(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC) // a Wednesday, 08:00
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ft := &windowTimers{signal: make(chan struct{}, 1)}
	s := newSystem(t, "", func(c *runner.Config) { c.Env.Now = clock; c.After = ft.after })
	createPipeline(t, s.store, conditioned(t, "w", []pipeline.Condition{{Rules: []pipeline.Rule{rule("Hours", pipeline.RuleDeploymentWindow, "Cron", "* * 9-16 ? * MON-FRI")}}}, nil))
	e := s.start(t, "w", nil, "")
	fire := ft.waitArmed(t, time.Hour)
	got := s.get(t, e.ID)
	if got.Status != engine.InProgress || len(got.Actions) != 0 || got.Conditions[0].Status != engine.InProgress {
		t.Fatalf("before the window: %s, %d runs, condition %+v", got.Status, len(got.Actions), got.Conditions)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	fire()
	if done := s.wait(t, e.ID); done.Status != engine.Succeeded || done.Conditions[0].Status != engine.Succeeded {
		t.Fatalf("after the window opened: %s", s.describe(t, e.ID))
	}

	// Closed again at 17:00: the second execution waits, and is let through.
	mu.Lock()
	now = time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)
	mu.Unlock()
	e2 := s.start(t, "w", nil, "")
	ft.waitArmed(t, 16*time.Hour)
	ctx := service.LocalCaller(t.Context(), "operator")
	if err := s.svc.OverrideStageCondition(ctx, "w", "Gate", e2.ID, engine.ConditionBeforeEntry); err != nil {
		t.Fatalf("OverrideStageCondition: %v", err)
	}
	done := s.wait(t, e2.ID)
	if done.Status != engine.Succeeded || done.Conditions[0].Status != engine.Overridden || !strings.Contains(done.Conditions[0].OverriddenBy, "operator") {
		t.Fatalf("after the override: %s, condition %+v", done.Status, done.Conditions[0])
	}
	if err := s.svc.OverrideStageCondition(ctx, "w", "Gate", e2.ID, engine.ConditionBeforeEntry); err == nil {
		t.Error("overriding a condition that is over was accepted")
	}
}
