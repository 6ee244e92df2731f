// Package restclient is a typed client of Stageflow's REST door
// (shared/api/rest). It sends and decodes the door's own types: the
// service's CodePipeline shapes (service.GetPipelineOutput, ...), the whole
// execution record (engine.Execution) and the door's bodies (rest.REST*).
// An error answer is an *Error.
package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// maxErrorBody is how much of an error answer is read.
const maxErrorBody = 1 << 20

// Client calls one Stageflow server.
type Client struct {
	endpoint string
	http     *http.Client

	// User, when set, names the caller in the rest.RESTUserHeader header
	// (the server records it, for instance as an approval's approver).
	User string
}

// New returns a client of the server at endpoint (http://host:port, with or
// without a trailing slash). A nil httpClient is http.DefaultClient.
func New(endpoint string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{endpoint: endpoint, http: httpClient}
}

// Endpoint is the server's base URL, as New was given it.
func (c *Client) Endpoint() string { return c.endpoint }

// Error is an error answer of the server: its status and, when the body is
// a rest.RESTError, its code, message and problems; otherwise Body holds
// what the server said.
type Error struct {
	StatusCode int
	// Method and Path (with the query) are the request's.
	Method, Path string
	rest.RESTErrorDetail
	// Body is the answer's text when it is not a REST error body.
	Body string
}

// Error reads "Code: Message", then a line per problem, "  path: message";
// an answer that is no REST error reads "METHOD PATH: HTTP status: body".
// The problems are listed once: a message that lists them too ("invalid
// pipeline: a: …; b: …") is cut where the first one begins.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, e.Body)
	}
	var b strings.Builder
	msg := e.Message
	if len(e.Problems) > 0 {
		if i := strings.Index(msg, problemText(e.Problems[0])); i > 0 {
			msg = strings.TrimRight(msg[:i], ":; ") + ":"
		}
	}
	fmt.Fprintf(&b, "%s: %s", e.Code, msg)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s", problemText(p))
	}
	return b.String()
}

// problemText is "path: message", or the message of a problem without a
// path (a document that is no JSON).
func problemText(p errs.Problem) string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// pipelinePath is /v1/pipelines/{name}, then the further path segments,
// each escaped by escapeSegment.
func pipelinePath(name string, segments ...string) string {
	var b strings.Builder
	b.WriteString("/v1/pipelines/")
	b.WriteString(rest.EscapeSegment(name))
	for _, s := range segments {
		b.WriteString("/")
		b.WriteString(rest.EscapeSegment(s))
	}
	return b.String()
}

// query builds a query string from key, value pairs, leaving out empty
// values.
func query(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// itoa is n in decimal, "" for 0 (the server's default).
func itoa[T int | int64](n T) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(int64(n), 10)
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send sends a request (body: nil, a []byte sent as is, or a value sent as
// JSON) and returns a successful answer; the caller closes its body.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	if enc := q.Encode(); enc != "" {
		path += "?" + enc
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.endpoint, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil || method != http.MethodGet {
		// The server refuses changes sent as anything else (cross-site
		// request forgery), with or without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	if c.User != "" {
		req.Header.Set(rest.RESTUserHeader, c.User)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Stageflow server at %s (start it with `stageflow serve`): %w", c.endpoint, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := &Error{StatusCode: resp.StatusCode, Method: method, Path: path}
		var body rest.RESTError
		if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
			e.RESTErrorDetail = body.Error
		} else {
			e.Body = strings.TrimSpace(string(data))
		}
		return nil, e
	}
	return resp, nil
}

// ---- pipelines ----

// CreatePipeline creates a pipeline from a document (a pipeline, bare or as
// {"pipeline", "tags"}), as read by pipeline.Load on the server.
func (c *Client) CreatePipeline(ctx context.Context, document []byte) (*service.GetPipelineOutput, error) {
	var out service.GetPipelineOutput
	return &out, c.do(ctx, "POST", "/v1/pipelines", nil, document, &out)
}

// UpdatePipeline stores document as a new version of pipeline name.
func (c *Client) UpdatePipeline(ctx context.Context, name string, document []byte) (*service.GetPipelineOutput, error) {
	var out service.GetPipelineOutput
	return &out, c.do(ctx, "PUT", pipelinePath(name), nil, document, &out)
}

// GetPipeline reads a pipeline: version 0 is the latest.
func (c *Client) GetPipeline(ctx context.Context, name string, version int) (*service.GetPipelineOutput, error) {
	var out service.GetPipelineOutput
	return &out, c.do(ctx, "GET", pipelinePath(name), query("version", itoa(version)), nil, &out)
}

// ListPipelines reads a page of pipelines; maxResults 0 is the server's
// page size, nextToken "" the first page.
func (c *Client) ListPipelines(ctx context.Context, maxResults int, nextToken string) (*service.ListPipelinesOutput, error) {
	var out service.ListPipelinesOutput
	return &out, c.do(ctx, "GET", "/v1/pipelines", query("maxResults", itoa(maxResults), "nextToken", nextToken), nil, &out)
}

// DeletePipeline deletes a pipeline; its executions stay readable.
func (c *Client) DeletePipeline(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", pipelinePath(name), nil, nil, nil)
}

// PipelineState reads the state of each stage and action of a pipeline.
func (c *Client) PipelineState(ctx context.Context, name string) (*service.GetPipelineStateOutput, error) {
	var out service.GetPipelineStateOutput
	return &out, c.do(ctx, "GET", pipelinePath(name, "state"), nil, nil, &out)
}

// PipelineStateIn is PipelineState of one lane (nil: every lane; "": the
// executions in no lane).
func (c *Client) PipelineStateIn(ctx context.Context, name string, lane *string) (*service.GetPipelineStateOutput, error) {
	var out service.GetPipelineStateOutput
	return &out, c.do(ctx, "GET", pipelinePath(name, "state"), withLane(url.Values{}, lane), nil, &out)
}

// withLane adds the lane filter to a query (nil: none; "" is sent too).
func withLane(q url.Values, lane *string) url.Values {
	if lane != nil {
		q.Set("lane", *lane)
	}
	return q
}

// ---- tags ----

// ListTags reads a pipeline's tags.
func (c *Client) ListTags(ctx context.Context, name string) (*rest.RESTTags, error) {
	var out rest.RESTTags
	return &out, c.do(ctx, "GET", pipelinePath(name, "tags"), nil, nil, &out)
}

// TagPipeline adds or overwrites tags and returns them all.
func (c *Client) TagPipeline(ctx context.Context, name string, tags rest.RESTTags) (*rest.RESTTags, error) {
	var out rest.RESTTags
	return &out, c.do(ctx, "PUT", pipelinePath(name, "tags"), nil, tags, &out)
}

// UntagPipeline removes the tags of the given keys.
func (c *Client) UntagPipeline(ctx context.Context, name string, keys ...string) error {
	return c.do(ctx, "DELETE", pipelinePath(name, "tags"), url.Values{"key": keys}, nil, nil)
}

// ---- executions ----

// StartExecution starts an execution of a pipeline and returns its ID.
func (c *Client) StartExecution(ctx context.Context, name string, in rest.RESTStartExecution) (string, error) {
	var out rest.RESTExecutionID
	err := c.do(ctx, "POST", pipelinePath(name, "executions"), nil, in, &out)
	return out.PipelineExecutionID, err
}

// StopExecution asks an execution to stop.
func (c *Client) StopExecution(ctx context.Context, name, id string, in rest.RESTStopExecution) error {
	return c.do(ctx, "POST", pipelinePath(name, "executions", id, "stop"), nil, in, nil)
}

// ListExecutions reads a page of a pipeline's executions, newest first:
// status "" lists all, maxResults 0 is the server's page size.
func (c *Client) ListExecutions(ctx context.Context, name string, status engine.Status, maxResults int, nextToken string) (*service.ListPipelineExecutionsOutput, error) {
	var out service.ListPipelineExecutionsOutput
	q := query("status", string(status), "maxResults", itoa(maxResults), "nextToken", nextToken)
	return &out, c.do(ctx, "GET", pipelinePath(name, "executions"), q, nil, &out)
}

// ListExecutionsIn reads a page of the executions of pipeline
// q.PipelineName of q's status and lane, newest first, each naming its
// lane. A page of a lane may hold fewer than asked and still have a
// NextToken.
func (c *Client) ListExecutionsIn(ctx context.Context, q service.ListExecutionsQuery) (*service.ListExecutionsInOutput, error) {
	var out service.ListExecutionsInOutput
	v := withLane(query("status", string(q.Status), "maxResults", itoa(q.MaxResults), "nextToken", q.NextToken), q.Lane)
	return &out, c.do(ctx, "GET", pipelinePath(q.PipelineName, "executions"), v, nil, &out)
}

// GetExecution reads the whole record of an execution.
func (c *Client) GetExecution(ctx context.Context, name, id string) (*engine.Execution, error) {
	var out engine.Execution
	return &out, c.do(ctx, "GET", pipelinePath(name, "executions", id), nil, nil, &out)
}

// ListActionExecutions reads a page of a pipeline's action executions,
// newest first, of those f selects.
func (c *Client) ListActionExecutions(ctx context.Context, name string, f service.ActionExecutionFilter, maxResults int, nextToken string) (*service.ListActionExecutionsOutput, error) {
	var out service.ListActionExecutionsOutput
	q := query("executionId", f.PipelineExecutionID, "stage", f.Stage, "action", f.Action, "status", string(f.Status),
		"maxResults", itoa(maxResults), "nextToken", nextToken)
	return &out, c.do(ctx, "GET", pipelinePath(name, "action-executions"), q, nil, &out)
}

// PutApproval approves or rejects a waiting manual approval.
func (c *Client) PutApproval(ctx context.Context, name string, in rest.RESTApproval) (*rest.RESTApprovalResult, error) {
	var out rest.RESTApprovalResult
	return &out, c.do(ctx, "POST", pipelinePath(name, "approvals"), nil, in, &out)
}

// ---- logs ----

// LogPage reads a page of an action run's log from a byte offset; limit 0
// is the server's page size.
func (c *Client) LogPage(ctx context.Context, name, id, runID string, offset, limit int64) (*rest.RESTLogPage, error) {
	var out rest.RESTLogPage
	q := query("offset", itoa(offset), "limit", itoa(limit))
	return &out, c.do(ctx, "GET", pipelinePath(name, "executions", id, "actions", runID, "logs"), q, nil, &out)
}

// FollowLog streams an action run's log from a byte offset while it grows;
// the stream ends after the run has ended and its whole log was sent. The
// caller closes it.
func (c *Client) FollowLog(ctx context.Context, name, id, runID string, offset int64) (io.ReadCloser, error) {
	resp, err := c.send(ctx, "GET", pipelinePath(name, "executions", id, "actions", runID, "logs"),
		query("offset", itoa(offset), "follow", "true"), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
