package sfntest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stageflow/stageflow/shared/sfn/sfntest"
)

const machine = "arn:aws:states:us-east-1:000000000000:stateMachine:bridge-test"

// waitMachine is one task that waits for its token.
const waitMachine = `{
  "StartAt": "Wait",
  "States": {
    "Wait": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
      "End": true
    }
  }
}`

// tokens collects the task tokens the bridge hands to the function.
type tokens struct{ got chan string }

func (k *tokens) invoke(_ context.Context, fn string, payload json.RawMessage) (json.RawMessage, error) {
	var in struct{ Token string }
	if err := json.Unmarshal(payload, &in); err != nil || fn != "f" {
		return nil, errors.New("unexpected invocation")
	}
	k.got <- in.Token
	return json.RawMessage("null"), nil
}

func start(t *testing.T) (*sfntest.Bridge, *awssfn.Client, *tokens) {
	if testing.Short() {
		t.Skip("-short: no node")
	}
	k := &tokens{got: make(chan string, 4)}
	b := sfntest.Start(t, sfntest.Config{Definition: []byte(waitMachine), StateMachineARN: machine, Invoke: k.invoke, JSDir: sfntest.JSDir(t)})
	return b, b.Client(), k
}

func token(t *testing.T, k *tokens) string {
	t.Helper()
	select {
	case tok := <-k.got:
		return tok
	case <-time.After(time.Minute):
		t.Fatal("no task token within a minute")
		return ""
	}
}

func wantErr[E error](t *testing.T, what string, err error) {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("%s: %T %v, want %T", what, err, err, e)
	}
}

// TestBridgeAnswersTheSDK: the bridge's answers decode in the SDK as Step
// Functions' own do — the typed errors the driver relies on included.
func TestBridgeAnswersTheSDK(t *testing.T) {
	b, c, k := start(t)
	ctx := t.Context()
	out, err := c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("one"), Input: aws.String(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)
	if arn != "arn:aws:states:us-east-1:000000000000:execution:bridge-test:one" {
		t.Fatalf("execution ARN %s", arn)
	}
	tok := token(t, k)
	d, err := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
	if err != nil || d.Status != types.ExecutionStatusRunning || d.StartDate == nil {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	_, err = c.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String("made-up"), Output: aws.String("{}")})
	wantErr[*types.InvalidToken](t, "an unknown token", err)
	if _, err := c.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(tok), Error: aws.String("Boom"), Cause: aws.String("why")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String("{}")})
	wantErr[*types.TaskDoesNotExist](t, "a spent token", err)
	res, err := b.Wait(ctx, arn)
	if err != nil || res.Status != "FAILED" || res.Error != "Boom" || res.Cause != "why" {
		t.Fatalf("wait: %+v, %v", res, err)
	}
	d, err = c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
	if err != nil || d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "Boom" || d.StopDate == nil {
		t.Fatalf("describe after the failure: %+v, %v", d, err)
	}
	_, err = c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("one"), Input: aws.String(`{"n":1}`)})
	wantErr[*types.ExecutionAlreadyExists](t, "a name used before", err)
	_, err = c.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: aws.String(arn + "-nope")})
	wantErr[*types.ExecutionDoesNotExist](t, "stopping an unknown execution", err)
}

// TestBridgeStopsAndSucceeds: a task token sent with success ends the
// execution with its output; StopExecution kills the node process of a
// running one, whose token is refused afterwards.
func TestBridgeStopsAndSucceeds(t *testing.T) {
	b, c, k := start(t)
	ctx := t.Context()
	for _, name := range []string{"ok", "stopped"} {
		if _, err := c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(`{"n":2}`)}); err != nil {
			t.Fatal(err)
		}
		tok := token(t, k)
		arn := "arn:aws:states:us-east-1:000000000000:execution:bridge-test:" + name
		if name == "ok" {
			if _, err := c.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{"done":true}`)}); err != nil {
				t.Fatal(err)
			}
			res, err := b.Wait(ctx, arn)
			if err != nil || res.Status != "SUCCEEDED" || res.Output != `{"done":true}` {
				t.Fatalf("wait: %+v, %v", res, err)
			}
			continue
		}
		if _, err := c.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String("Abandoned"), Cause: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil || d.Status != types.ExecutionStatusAborted {
			t.Fatalf("describe after the stop: %+v, %v", d, err)
		}
		_, err = c.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String("{}")})
		wantErr[*types.TaskDoesNotExist](t, "the token of a stopped execution", err)
	}
	if calls := b.Calls(); calls["StartExecution"] != 2 || calls["StopExecution"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}
