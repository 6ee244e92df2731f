package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/netip"
	"strings"

	"github.com/theory/jsonpath"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// WebhookDelivery is one POST to a webhook URL, as the webhook door read it.
type WebhookDelivery struct {
	URLID string
	Body  []byte
	// Signature256 and Signature1 are the X-Hub-Signature-256 and
	// X-Hub-Signature headers ("sha256=<hex>", "sha1=<hex>").
	Signature256, Signature1 string
	// Remote is the client's address (the connection's, unless the server
	// is configured to trust a proxy's header).
	Remote netip.Addr
}

// WebhookOutcome is what a delivery did: the execution it started, or why
// it started none (a filter that did not match).
type WebhookOutcome struct {
	PipelineExecutionID string `json:"pipelineExecutionId,omitempty"`
	Message             string `json:"message"`
}

// DeliverWebhook handles a POST to a webhook URL: the webhook's own
// authentication (no caller policy is asked: the URL and its secret are the
// credential), then every filter rule on the JSON body, then an execution of
// the target pipeline with trigger Webhook and the webhook's ARN as detail.
// Errors: NotFound (KindWebhook) for an unknown URL, Unauthorized for a
// missing signature, Forbidden for a wrong one or an address outside the
// range, Validation for a body that is not JSON, InvalidState when the
// target action is gone. Nothing starts on any error, nor when a filter
// does not match (the outcome says which and why).
func (s *Service) DeliverWebhook(ctx context.Context, d WebhookDelivery) (*WebhookOutcome, error) {
	ws, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	w, err := ws.WebhookByURLID(ctx, d.URLID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Of(errs.NotFound, errs.KindWebhook, "no webhook has this URL")
		}
		return nil, err
	}
	var def WebhookDefinition
	if err := json.Unmarshal(w.Definition, &def); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding the definition of webhook %s", w.Name)
	}
	if err := s.authenticateDelivery(w, &def, d); err != nil {
		return nil, err
	}
	var body any
	dec := json.NewDecoder(bytes.NewReader(d.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, errs.New(errs.Validation, "the payload is not JSON: %v", err)
	}
	if dec.More() {
		return nil, errs.New(errs.Validation, "the payload is not one JSON value")
	}
	p, err := s.store.GetPipeline(ctx, def.TargetPipeline, 0)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.InvalidState, "webhook %s targets pipeline %q, which no longer exists", w.Name, def.TargetPipeline)
		}
		return nil, err
	}
	action, err := webhookAction(&p.Declaration, def.TargetAction)
	if err != nil {
		return nil, errs.New(errs.InvalidState, "webhook %s targets action %q, which pipeline %s no longer has in its first stage", w.Name, def.TargetAction, p.Name)
	}
	for i, f := range def.Filters {
		if why := matchFilter(f, action.Configuration, body); why != "" {
			return &WebhookOutcome{Message: fmt.Sprintf("no execution started: filter %d (jsonPath %q) did not match: %s", i+1, f.JSONPath, why)}, nil
		}
	}
	e, err := s.start(ctx, StartInput{PipelineName: p.Name, TriggerType: "Webhook", TriggerDetail: s.WebhookArn(w.Name)})
	if err != nil {
		return nil, err
	}
	s.recordTrigger(ctx, ws, w)
	return &WebhookOutcome{PipelineExecutionID: e.ID, Message: fmt.Sprintf("started execution %s of pipeline %s", e.ID, p.Name)}, nil
}

// recordTrigger sets the webhook's LastTriggered on the record as stored
// now, unless it was replaced meanwhile (another URL ID: the delivery
// came through the old URL); a failure is logged, not answered (the
// execution has started). A PutWebhook between the read and the write
// here can still be undone by it: the store has no conditional write of
// webhooks yet.
func (s *Service) recordTrigger(ctx context.Context, ws store.WebhookStore, delivered *store.Webhook) {
	w, err := ws.GetWebhook(ctx, delivered.Name)
	if err != nil || w.URLID != delivered.URLID {
		return
	}
	w.LastTriggered, w.Updated = s.now(), s.now()
	if err := ws.PutWebhook(ctx, w); err != nil {
		s.log.Warn("recording a webhook's trigger", "webhook", w.Name, "err", err)
	}
}

func (s *Service) authenticateDelivery(w *store.Webhook, def *WebhookDefinition, d WebhookDelivery) error {
	switch def.Authentication {
	case WebhookUnauthenticated:
		return nil
	case WebhookIP:
		r, err := netip.ParsePrefix(def.AuthenticationConfiguration.AllowedIPRange)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "webhook %s's AllowedIPRange", w.Name)
		}
		if !d.Remote.IsValid() || !r.Contains(d.Remote.Unmap()) {
			return errs.New(errs.Forbidden, "this webhook accepts requests from %s only", r)
		}
		return nil
	case WebhookGitHubHMAC:
		if s.sealer == nil || len(w.Secret) == 0 {
			return errs.New(errs.Forbidden, "this webhook has no secret to verify signatures with")
		}
		secret, err := s.sealer.Open(w.Secret, []byte(w.Name))
		if err != nil {
			return errs.Wrap(errs.Internal, err, "opening the secret of webhook %s", w.Name)
		}
		switch {
		case d.Signature256 != "":
			return checkSignature(d.Signature256, "sha256=", sha256.New, secret, d.Body)
		case d.Signature1 != "":
			return checkSignature(d.Signature1, "sha1=", sha1.New, secret, d.Body)
		}
		return errs.New(errs.Unauthorized, "the request is not signed: send X-Hub-Signature-256 (sha256=<HMAC of the body with the webhook's secret>)")
	}
	return errs.New(errs.Internal, "webhook %s has authentication %q", w.Name, def.Authentication)
}

// checkSignature compares a signature header with the body's HMAC in
// constant time.
func checkSignature(header, prefix string, h func() hash.Hash, secret, body []byte) error {
	hexSig, ok := strings.CutPrefix(header, prefix)
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return errs.New(errs.Forbidden, "the signature is not of the form %s<hex>", prefix)
	}
	mac := hmac.New(h, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errs.New(errs.Forbidden, "the signature does not match the payload and the webhook's secret")
	}
	return nil
}

// matchFilter applies one rule to the body: "" when it matches, else why
// not. Without matchEquals a rule matches when its path selects a value.
// With it, placeholders {Key} take the target action's configuration
// value of Key, and a selected value must equal the result (a string
// as is; another value as its JSON text).
func matchFilter(f WebhookFilterRule, config map[string]string, body any) string {
	path, err := jsonpath.Parse(f.JSONPath)
	if err != nil {
		return fmt.Sprintf("the path is invalid: %v", err)
	}
	nodes := path.Select(body)
	if len(nodes) == 0 {
		return "the path selects nothing in the payload"
	}
	if f.MatchEquals == "" {
		return ""
	}
	var missing []string
	want := placeholder.ReplaceAllStringFunc(f.MatchEquals, func(m string) string {
		key := m[1 : len(m)-1]
		v, ok := config[key]
		if !ok {
			missing = append(missing, key)
		}
		return v
	})
	if len(missing) > 0 {
		return fmt.Sprintf("matchEquals %q names %s, which the target action's configuration does not have", f.MatchEquals, strings.Join(missing, ", "))
	}
	var seen []string
	for _, n := range nodes {
		got, ok := n.(string)
		if !ok {
			b, _ := json.Marshal(n)
			got = string(b)
		}
		if got == want {
			return ""
		}
		if len(seen) < 3 {
			seen = append(seen, apispec.Truncate(fmt.Sprintf("%q", got), 100))
		}
	}
	return fmt.Sprintf("the payload has %s where %q was wanted", strings.Join(seen, ", "), want)
}
