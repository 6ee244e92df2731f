package main

import (
	"net"
	"net/http"
	"strings"
)

type rootHandlers struct {
	rest, codepipeline, s3 http.Handler
	bucket                 string
	// loopbackOnly refuses requests whose Host is not a loopback name: the
	// API runs commands, and DNS rebinding must not let a web page reach it.
	loopbackOnly bool
}

// newRootHandler routes one port to the three doors: REST under /v1/, the
// artifact bucket's S3 requests, and CodePipeline's JSON 1.1 protocol for
// everything else (which answers unknown requests with a JSON error).
func newRootHandler(h rootHandlers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.loopbackOnly && !loopbackHost(r.Host) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"this Stageflow server only answers requests for loopback host names (localhost, 127.0.0.1, [::1])"}`))
			return
		}
		switch {
		case r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/"):
			h.rest.ServeHTTP(w, r)
		case h.bucket != "" && (r.URL.Path == "/"+h.bucket || strings.HasPrefix(r.URL.Path, "/"+h.bucket+"/")):
			h.s3.ServeHTTP(w, r)
		default:
			h.codepipeline.ServeHTTP(w, r)
		}
	})
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
