package sfn_test

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeAPI records the driver's Step Functions calls. Tokens it was told of
// with open are open until sent once; sending any other is TaskDoesNotExist.
type fakeAPI struct {
	mu      sync.Mutex
	started []awssfn.StartExecutionInput
	stopped []awssfn.StopExecutionInput
	sent    []awssfn.SendTaskSuccessInput // accepted sends
	refused []string                      // tokens refused
	open    map[string]bool
	// failSends makes that many SendTaskSuccess calls fail with a network error.
	failSends int
}

func newFakeAPI() *fakeAPI { return &fakeAPI{open: map[string]bool{}} }

func (f *fakeAPI) openToken(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open[tok] = true
}

func (f *fakeAPI) StartExecution(_ context.Context, in *awssfn.StartExecutionInput, _ ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.started {
		if aws.ToString(s.Name) == aws.ToString(in.Name) {
			return nil, &types.ExecutionAlreadyExists{Message: aws.String("exists")}
		}
	}
	f.started = append(f.started, *in)
	return &awssfn.StartExecutionOutput{ExecutionArn: aws.String("arn:x")}, nil
}

func (f *fakeAPI) StopExecution(_ context.Context, in *awssfn.StopExecutionInput, _ ...func(*awssfn.Options)) (*awssfn.StopExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, *in)
	return &awssfn.StopExecutionOutput{}, nil
}

func (f *fakeAPI) SendTaskSuccess(_ context.Context, in *awssfn.SendTaskSuccessInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSends > 0 {
		f.failSends--
		return nil, errors.New("connection reset")
	}
	tok := aws.ToString(in.TaskToken)
	if !f.open[tok] {
		f.refused = append(f.refused, tok)
		return nil, &types.TaskDoesNotExist{Message: aws.String("no such task")}
	}
	delete(f.open, tok)
	f.sent = append(f.sent, *in)
	return &awssfn.SendTaskSuccessOutput{}, nil
}

// sentTo returns the outputs sent to tok.
func (f *fakeAPI) sentTo(tok string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sent {
		if aws.ToString(s.TaskToken) == tok {
			out = append(out, aws.ToString(s.Output))
		}
	}
	return out
}
