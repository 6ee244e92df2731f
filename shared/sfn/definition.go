package sfn

import (
	"encoding/json"
	"fmt"
)

// State names of the state machine. The test bridge and the docs name them
// too.
const (
	StateAdvance       = "Advance"
	StateRoute         = "Route"
	StateWave          = "Wave"
	StateDispatch      = "Dispatch"
	StateTimedOut      = "TimedOut"
	StatePark          = "Park"
	StateDone          = "Done"
	StateHandlerFailed = "HandlerFailed"
)

// What Advance tells the Choice state to do next (AdvanceOutput.Next).
const (
	NextWave = "wave" // dispatch the wave, then advance again
	NextPark = "park" // wait for Continue, then advance again
	NextDone = "done" // the execution has ended
)

// Resources of the Task states: the optimized Lambda integration, plain and
// with a task token.
const (
	ResourceInvoke      = "arn:aws:states:::lambda:invoke"
	ResourceInvokeToken = "arn:aws:states:::lambda:invoke.waitForTaskToken"
)

// ParkTimeoutSeconds bounds one wait in Park (Advance says how long in
// parkSeconds: less when a stage condition asks to be evaluated sooner):
// then the machine advances again, and parks again if the execution still
// waits. An hour a turn
// costs EventsPerPark history events an hour, some 9,400 in the 30 days a
// transition may hold an execution — within MaxHistoryEvents.
const ParkTimeoutSeconds = 3600

// LambdaServiceErrors are the errors of the Lambda service itself (not of
// our handlers) that the Task states retry.
var LambdaServiceErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.TooManyRequestsException",
	"Lambda.ClientExecutionTimeoutException",
}

// History events of a Standard execution of the definition, as Step
// Functions counts them: a Lambda task is 5 (entered, scheduled, started,
// succeeded, exited), one with a task token 6 (submitted besides), a Choice,
// a Pass and a Succeed 2, a Map 4 plus 2 per iteration, the execution's own
// start and end 2.
const (
	// MaxHistoryEvents is Step Functions' limit on one execution's history.
	MaxHistoryEvents = 25000
	// EventsPerWave is one turn of the loop besides its actions: Advance,
	// Route, and the Map's own events.
	EventsPerWave = 5 + 2 + 4
	// EventsPerAction is one action of a wave: its iteration and its
	// Dispatch task.
	EventsPerAction = 2 + 6
	// EventsPerPark is one park and its Continue: Park, Advance, Route.
	EventsPerPark = 6 + 5 + 2
	// eventsFixed is the execution's start and end and the last turn:
	// Advance, Route, Done.
	eventsFixed = 2 + 5 + 2 + 2
)

// HistoryEvents is the length of the history of an execution that runs
// waves waves of actions actions in all, never parks and retries nothing.
func HistoryEvents(waves, actions int) int {
	return eventsFixed + waves*EventsPerWave + actions*EventsPerAction
}

// Functions names the two Lambda functions the state machine invokes (name,
// ARN or a CloudFormation token that resolves to one).
type Functions struct {
	Advance  string
	Dispatch string
}

// state is one state of the definition, JSONPath flavour. Only the fields
// this machine uses.
type state struct {
	Type               string            `json:"Type"`
	Comment            string            `json:"Comment,omitempty"`
	Resource           string            `json:"Resource,omitempty"`
	Parameters         map[string]any    `json:"Parameters,omitempty"`
	ResultSelector     map[string]string `json:"ResultSelector,omitempty"`
	ResultPath         *string           `json:"ResultPath,omitempty"`
	OutputPath         string            `json:"OutputPath,omitempty"`
	TimeoutSeconds     int               `json:"TimeoutSeconds,omitempty"`
	TimeoutSecondsPath string            `json:"TimeoutSecondsPath,omitempty"`
	Retry              []retrier         `json:"Retry,omitempty"`
	Catch              []catcher         `json:"Catch,omitempty"`
	Choices            []choice          `json:"Choices,omitempty"`
	Default            string            `json:"Default,omitempty"`
	ItemsPath          string            `json:"ItemsPath,omitempty"`
	ItemProcessor      *machine          `json:"ItemProcessor,omitempty"`
	MaxConcurrency     *int              `json:"MaxConcurrency,omitempty"`
	ErrorPath          string            `json:"ErrorPath,omitempty"`
	CausePath          string            `json:"CausePath,omitempty"`
	Next               string            `json:"Next,omitempty"`
	End                bool              `json:"End,omitempty"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath"`
	Next        string   `json:"Next"`
}

type choice struct {
	Variable     string `json:"Variable"`
	StringEquals string `json:"StringEquals"`
	Next         string `json:"Next"`
}

type processorConfig struct {
	Mode string `json:"Mode"`
}

type machine struct {
	Comment         string           `json:"Comment,omitempty"`
	ProcessorConfig *processorConfig `json:"ProcessorConfig,omitempty"`
	StartAt         string           `json:"StartAt"`
	States          map[string]state `json:"States"`
}

func ptr[T any](v T) *T { return &v }

// retryLambda retries the Lambda service's own errors, never our handlers'.
var retryLambda = []retrier{{ErrorEquals: LambdaServiceErrors, IntervalSeconds: 1, MaxAttempts: 6, BackoffRate: 2}}

// catchAll sends every other error to the Fail state, with its cause.
var catchAll = []catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: "$.error", Next: StateHandlerFailed}}

// Definition is the state machine in Amazon States Language (JSONPath): a
// Standard state machine that is the local runner's loop, state by state.
//
//	Advance → Route ─ done → Done
//	   ↑        ├──── park → Park: waits; its token is kept on the execution, Continue sends it ──┐
//	   │        └─ (wave) → Wave: a Map over the wave, each item a Dispatch task that waits; its  │
//	   │                    token is kept on the run, Complete sends it ─────────────────────────┤
//	   └─────────────────────────────────────────────────────────────────────────────────────────┘
//
// The state between the steps is {executionId, next, wave, ended}: only
// identifiers (AdvanceOutput). Every completion of an action, success or
// failure, ends its Dispatch task with SendTaskSuccess, so a failed action
// never aborts its siblings: Advance decides. A Dispatch task that times
// out ends its iteration as {runId, timedOut}, which Advance records as the
// run's failure. The Lambda service's errors are retried; an error of our
// own handlers ends the execution in HandlerFailed with its cause.
func Definition(fn Functions) ([]byte, error) {
	if fn.Advance == "" || fn.Dispatch == "" {
		return nil, fmt.Errorf("sfn: the definition needs both the advance and the dispatch function")
	}
	m := machine{
		Comment: "Stageflow: one pipeline execution (shared/sfn). Advance runs the engine's step; each wave's actions run in parallel, each until its completion sends its task token.",
		StartAt: StateAdvance,
		States: map[string]state{
			StateAdvance: {
				Type:           "Task",
				Comment:        "engine.Step through the store: records timed-out runs, advances, returns the wave as identifiers",
				Resource:       ResourceInvoke,
				Parameters:     map[string]any{"FunctionName": fn.Advance, "Payload.$": "$"},
				ResultSelector: map[string]string{"executionId.$": "$.Payload.executionId", "next.$": "$.Payload.next", "wave.$": "$.Payload.wave", "parkSeconds.$": "$.Payload.parkSeconds"},
				Retry:          retryLambda,
				Catch:          catchAll,
				Next:           StateRoute,
			},
			StateRoute: {
				Type: "Choice",
				Choices: []choice{
					{Variable: "$.next", StringEquals: NextDone, Next: StateDone},
					{Variable: "$.next", StringEquals: NextPark, Next: StatePark},
				},
				Default: StateWave,
			},
			StateWave: {
				Type:           "Map",
				Comment:        "every action of the wave at once (a stage has at most 50); each iteration ends when its completion arrives",
				ItemsPath:      "$.wave",
				MaxConcurrency: ptr(0),
				ItemProcessor: &machine{
					ProcessorConfig: &processorConfig{Mode: "INLINE"},
					StartAt:         StateDispatch,
					States: map[string]state{
						StateDispatch: {
							Type:     "Task",
							Comment:  "starts one action run; its task token is kept on the run until the action's result arrives",
							Resource: ResourceInvokeToken,
							Parameters: map[string]any{"FunctionName": fn.Dispatch, "Payload": map[string]any{
								"executionId.$": "$.executionId", "runId.$": "$.runId", "taskToken.$": "$$.Task.Token",
							}},
							TimeoutSecondsPath: "$.timeoutSeconds",
							Retry:              retryLambda,
							Catch:              []catcher{{ErrorEquals: []string{"States.Timeout"}, ResultPath: "$.error", Next: StateTimedOut}},
							End:                true,
						},
						StateTimedOut: {
							Type:       "Pass",
							Comment:    "no result before the action's timeout: Advance fails the run",
							Parameters: map[string]any{"runId.$": "$.runId", "timedOut": true},
							End:        true,
						},
					},
				},
				ResultPath: ptr("$.ended"),
				Catch:      catchAll,
				Next:       StateAdvance,
			},
			StatePark: {
				Type:       "Task",
				Comment:    "the execution waits on something other than its actions; Continue sends the token kept on the execution",
				Resource:   ResourceInvokeToken,
				Parameters: map[string]any{"FunctionName": fn.Advance, "Payload": map[string]any{"executionId.$": "$.executionId", "parkToken.$": "$$.Task.Token"}},
				ResultPath: ptr("$.ended"),
				// A safety net, not a poll: a resume lost between the write
				// that hands the execution a stage and the sending of its
				// token (a crash) is made good by advancing again.
				TimeoutSecondsPath: "$.parkSeconds",
				Retry:              retryLambda,
				Catch: []catcher{
					{ErrorEquals: []string{"States.Timeout"}, ResultPath: "$.parkTimedOut", Next: StateAdvance},
					catchAll[0],
				},
				Next: StateAdvance,
			},
			StateDone: {Type: "Succeed", Comment: "the pipeline execution has ended (its status is in the store)"},
			StateHandlerFailed: {
				Type:      "Fail",
				Comment:   "a Stageflow handler failed: the execution stops here with the handler's error and cause",
				ErrorPath: "$.error.Error",
				CausePath: "$.error.Cause",
			},
		},
	}
	return json.MarshalIndent(m, "", "  ")
}
