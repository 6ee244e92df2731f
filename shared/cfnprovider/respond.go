package cfnprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"
)

// Margin is how long before the function's deadline a request still
// running is answered FAILED.
const Margin = 5 * time.Second

// Sender PUTs responses to ResponseURLs.
type Sender struct {
	Client *http.Client // nil: a client with a 10 s timeout
	// Attempts bounds the PUTs of one response (0: 4); Backoff is the
	// wait after the first failed one, doubled after each (0: 1 s).
	Attempts int
	Backoff  time.Duration
}

// Send PUTs the response to url, with the empty content type
// CloudFormation's pre-signed S3 URL requires, retrying a failed PUT.
func (s *Sender) Send(ctx context.Context, url string, res *Response) error {
	body := Encode(res)
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, wait := s.Attempts, s.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if wait <= 0 {
		wait = time.Second
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("sending the response: %w (last attempt: %v)", ctx.Err(), last)
			case <-time.After(wait):
			}
			wait *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("the ResponseURL: %w", err)
		}
		req.Header.Set("Content-Type", "")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("the ResponseURL answered %s", resp.Status)
	}
	return fmt.Errorf("sending the response failed %d times: %w", attempts, last)
}

// Encode is the response's JSON body, its Reason shortened so that the
// body stays within MaxResponseBytes.
func Encode(res *Response) []byte {
	r := *res
	body, _ := json.Marshal(&r)
	for len(body) > MaxResponseBytes && r.Reason != "" {
		over := len(body) - MaxResponseBytes
		const mark = " … (truncated)"
		keep := len(r.Reason) - over - len(mark) - 16 // JSON escapes may grow
		if keep < 0 {
			keep = 0
		}
		for keep > 0 && !utf8.RuneStart(r.Reason[keep]) {
			keep--
		}
		r.Reason = r.Reason[:keep] + mark
		body, _ = json.Marshal(&r)
		if keep == 0 {
			break
		}
	}
	return body
}

// Serve handles one raw request as the Lambda function receives it and
// sends its response, whatever happens: a malformed request, a panic, or
// the context's deadline coming within Margin all send FAILED. The error
// is for the function's log (the response could not be sent, or there was
// no ResponseURL to send to).
func (p *Provider) Serve(ctx context.Context, s *Sender, raw json.RawMessage) error {
	var r Request
	if err := json.Unmarshal(raw, &r); err != nil {
		// What can be read of a malformed request still gets its answer.
		var loose map[string]any
		_ = json.Unmarshal(raw, &loose)
		str := func(k string) string { v, _ := loose[k].(string); return v }
		r = Request{ResponseURL: str("ResponseURL"), StackID: str("StackId"), RequestID: str("RequestId"),
			LogicalResourceID: str("LogicalResourceId"), PhysicalResourceID: str("PhysicalResourceId")}
		if r.ResponseURL == "" {
			return fmt.Errorf("a malformed request with no ResponseURL: %w", err)
		}
		return s.Send(ctx, r.ResponseURL, p.failed(&r, "malformed request: "+err.Error()))
	}
	if r.ResponseURL == "" {
		return fmt.Errorf("the request has no ResponseURL")
	}
	if problem := check(&r); problem != "" {
		return s.Send(ctx, r.ResponseURL, p.failed(&r, problem))
	}
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		hctx, cancel = context.WithDeadline(ctx, d.Add(-Margin))
	}
	defer cancel()
	done := make(chan *Response, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- p.failed(&r, fmt.Sprintf("the provider failed unexpectedly (panic: %v)", v))
			}
		}()
		done <- p.Handle(hctx, &r)
	}()
	var res *Response
	select {
	case res = <-done:
	case <-hctx.Done():
		res = p.failed(&r, "the provider did not finish before the function's deadline: "+hctx.Err().Error())
	}
	// Sending has what is left of the function's time.
	return s.Send(ctx, r.ResponseURL, res)
}

// check names what a well-formed request lacks.
func check(r *Request) string {
	switch {
	case r.RequestType != Create && r.RequestType != Update && r.RequestType != Delete:
		return fmt.Sprintf("RequestType %q is not Create, Update or Delete", r.RequestType)
	case r.StackID == "" || r.RequestID == "" || r.LogicalResourceID == "":
		return "the request lacks StackId, RequestId or LogicalResourceId"
	case r.RequestType != Create && r.PhysicalResourceID == "":
		return "an " + r.RequestType + " request must have a PhysicalResourceId"
	case r.ResourceType != "" && r.ResourceType != ResourceType && r.ResourceType != "AWS::CloudFormation::CustomResource":
		return fmt.Sprintf("the provider serves %s, not %s", ResourceType, r.ResourceType)
	case r.RequestType != Delete && len(r.ResourceProperties) == 0:
		return "the request has no ResourceProperties (Name and Stages are required)"
	}
	return ""
}

// failed is the FAILED response to r: its physical ID kept, or a failed
// Create's own.
func (p *Provider) failed(r *Request, why string) *Response {
	id := r.PhysicalResourceID
	if id == "" {
		id = FailedPrefix + r.RequestID
	}
	return &Response{Status: Failed, Reason: why, PhysicalResourceID: id, StackID: r.StackID, RequestID: r.RequestID,
		LogicalResourceID: r.LogicalResourceID}
}
