// Command invoke runs one function's bootstrap under the Lambda Runtime
// Interface Emulator and invokes it with the events of a file, in order,
// against one fresh DynamoDB table (`make invoke-FUNCTION EVENT=FILE`; the
// README's "Lambda functions on this machine"). Each response is one line
// on standard output; the emulator's and the function's logs go to
// standard error.
//
//	go run ./tools/invoke -function api -event events/api.rest-list-pipelines.json
//
// DynamoDB Local is started (and stopped) unless STAGEFLOW_DYNAMODB_ENDPOINT
// names a DynamoDB to use; the table made there is kept and named on
// standard error. The functions' Step Functions client points at a
// loopback port that refuses connections: nothing runs a state machine
// here, so a call that would start, stop or signal one fails (an action's
// result, a started execution's first step), and nothing leaves the machine.
//
// A CloudFormation custom resource request (an event with a ResponseURL,
// as events/provider.*.json) has its ResponseURL replaced by a loopback
// server's, whatever URL the file names, and the response the function
// PUTs there is printed after the invocation's own answer.
//
// Exit status: 0 when every invocation answered, 1 when the function
// answered an error to any (printed as Lambda returns it), 2 when the
// emulator or the setup failed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

func main() {
	fn := flag.String("function", "", "the function: a folder of functions/ (api, advance, dispatch, provider, webhook)")
	eventFile := flag.String("event", "", "a file of one JSON event or a JSON array of events")
	flag.Parse()
	code, err := run(*fn, *eventFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
	}
	os.Exit(code)
}

func run(fn, eventFile string) (int, error) {
	if fn == "" || eventFile == "" {
		return 2, errors.New("usage: invoke -function NAME -event FILE (make invoke-NAME EVENT=FILE)")
	}
	data, err := os.ReadFile(eventFile)
	if err != nil {
		return 2, err
	}
	events, err := lambdatest.SplitEvents(data)
	if err != nil {
		return 2, fmt.Errorf("%s: %w", eventFile, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := lambdatest.ModuleRoot()
	if err != nil {
		return 2, err
	}
	rie, err := lambdatest.FindRIE(root)
	if err != nil {
		return 2, err
	}
	bootstrap, err := lambdatest.Build(ctx, root, fn, filepath.Join(root, "build", "host"))
	if err != nil {
		return 2, err
	}

	endpoint := os.Getenv(dynamotest.EnvEndpoint)
	if endpoint == "" {
		var stopDB func()
		if endpoint, stopDB, err = dynamotest.StartLocal(); err != nil {
			return 2, err
		}
		defer stopDB()
	}
	table, err := newTable(ctx, endpoint)
	if err != nil {
		return 2, err
	}
	sfnEndpoint, err := lambdatest.RefusingEndpoint()
	if err != nil {
		return 2, err
	}
	emu, err := lambdatest.Start(lambdatest.Config{RIE: rie, Bootstrap: bootstrap,
		Env: lambdatest.Env(table, endpoint, sfnEndpoint), Log: os.Stderr})
	if err != nil {
		return 2, err
	}
	defer emu.Stop()

	responses := make(chan json.RawMessage, 16)
	catcher := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if r.Method != http.MethodPut || !json.Valid(body) {
			http.Error(w, "want a PUT of a JSON response", http.StatusBadRequest)
			return
		}
		select {
		case responses <- body:
		default:
		}
	}))
	defer catcher.Close()

	code := 0
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for i, ev := range events {
		custom := false
		var fields map[string]json.RawMessage
		if json.Unmarshal(ev, &fields) == nil && fields["ResponseURL"] != nil {
			custom = true
			fields["ResponseURL"], _ = json.Marshal(catcher.URL + "/cloudformation-response")
			ev, _ = json.Marshal(fields)
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		res, err := emu.Invoke(ictx, ev)
		cancel()
		var fe *lambdatest.FunctionError
		switch {
		case errors.As(err, &fe):
			code = 1
			_ = out.Encode(fe)
		case err != nil:
			return 2, fmt.Errorf("event %d of %s: %w", i+1, eventFile, err)
		default:
			_ = out.Encode(res) // compact: one response per line
		}
		if custom {
			select {
			case body := <-responses:
				_ = out.Encode(body)
			default:
				fmt.Fprintf(os.Stderr, "invoke: event %d sent no response to its ResponseURL\n", i+1)
				code = 1
			}
		}
	}
	return code, nil
}

// newTable creates a table of the store's design with a fresh name.
func newTable(ctx context.Context, endpoint string) (string, error) {
	c, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Endpoint: endpoint, Region: lambdatest.LocalRegion, AccessKeyID: "local", SecretAccessKey: "local"})
	if err != nil {
		return "", err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "stageflow-invoke-" + hex.EncodeToString(b)
	if err := dynamo.CreateTable(ctx, c, dynamo.TableOptions{Name: name}); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "invoke: table %s on %s\n", name, endpoint)
	return name, nil
}
