// Package reqlog carries what a door learns about a request (its route or
// operation, the exception it answered, an internal error) to the one
// request log line that api.NewHandler writes for every request, the S3
// door's and refused ones included.
package reqlog

import (
	"context"
	"log/slog"
	"sync"
)

// Entry collects a request's attributes; a door adds to it with Add.
type Entry struct {
	mu    sync.Mutex
	attrs []slog.Attr
	err   error
}

type key struct{}

// With returns a context carrying a new entry, and the entry.
func With(ctx context.Context) (context.Context, *Entry) {
	e := &Entry{}
	return context.WithValue(ctx, key{}, e), e
}

// Add records attributes on the request's entry; without one (a door used
// on its own) it does nothing.
func Add(ctx context.Context, attrs ...slog.Attr) {
	if e, ok := ctx.Value(key{}).(*Entry); ok {
		e.mu.Lock()
		e.attrs = append(e.attrs, attrs...)
		e.mu.Unlock()
	}
}

// Fail records an internal error: the caller got no detail, the log gets it
// and the line is logged at Error.
func Fail(ctx context.Context, err error) {
	if e, ok := ctx.Value(key{}).(*Entry); ok && err != nil {
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
	}
}

// Attrs returns the attributes added and the internal error, if any.
func (e *Entry) Attrs() ([]slog.Attr, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]slog.Attr(nil), e.attrs...), e.err
}
