package restclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/stageflow/stageflow/shared/engine"
)

// maxEvent is the largest event a stream reads (an execution record with
// every action run).
const maxEvent = 16 << 20

// EventStream reads the server-sent events of an execution: the current
// record first, then one per change, ending after the terminal state.
type EventStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Events opens the event stream of an execution. The caller closes it.
func (c *Client) Events(ctx context.Context, name, id string) (*EventStream, error) {
	resp, err := c.send(ctx, "GET", pipelinePath(name, "executions", id, "events"), nil, nil)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxEvent)
	return &EventStream{body: resp.Body, sc: sc}, nil
}

// Next returns the next state of the execution; io.EOF once the stream has
// ended (after the terminal state, or when the server closed it early).
func (s *EventStream) Next() (*engine.Execution, error) {
	var event string
	var data strings.Builder
	for s.sc.Scan() {
		line := s.sc.Text()
		if line == "" {
			if data.Len() > 0 && (event == "" || event == "execution") {
				var e engine.Execution
				if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
					return nil, fmt.Errorf("reading an execution event: %w", err)
				}
				return &e, nil
			}
			event = ""
			data.Reset()
			continue
		}
		// Comments (": heartbeat") and the id field carry no state.
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			event = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
	if err := s.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
