// Package ststest is a stand-in for STS's AssumeRole on loopback, for the
// tests of the packages that issue artifact credentials.
package ststest

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fake answers AssumeRole in STS's query protocol (form-encoded request,
// XML answer) on loopback, recording what it was asked; the SDK's own client
// is what talks to it. STS cannot run here, so this stand-in is shaped by the
// SDK: it parses what the client sends and answers what the client decodes.
type Fake struct {
	// Fail makes every call answer AccessDenied.
	Fail  bool
	mu    sync.Mutex
	calls []map[string]string
}

// Calls returns the parameters of every call so far, in order.
func (f *Fake) Calls() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.calls...)
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := map[string]string{}
	for k := range r.PostForm {
		call[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	fail := f.Fail
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if fail {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to assume the role</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	secs, _ := strconv.Atoi(call["DurationSeconds"])
	exp := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC).Add(time.Duration(secs) * time.Second)
	fmt.Fprintf(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIATESTKEY</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		exp.Format(time.RFC3339), call["RoleArn"], call["RoleSessionName"])
}
