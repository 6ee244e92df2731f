package service

// V1 webhooks (PutWebhook): a URL served by Stageflow that starts the
// webhook's pipeline when a POST to it passes the webhook's authentication
// and every one of its filters (webhookdeliver.go).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/theory/jsonpath"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// The operations of webhooks, on the webhook's ARN.
const (
	OpPutWebhook                      Operation = "codepipeline:PutWebhook"
	OpListWebhooks                    Operation = "codepipeline:ListWebhooks"
	OpDeleteWebhook                   Operation = "codepipeline:DeleteWebhook"
	OpRegisterWebhookWithThirdParty   Operation = "codepipeline:RegisterWebhookWithThirdParty"
	OpDeregisterWebhookWithThirdParty Operation = "codepipeline:DeregisterWebhookWithThirdParty"
)

// WebhookOperations lists the operations of webhooks (for checks that walk
// every operation).
func WebhookOperations() []Operation {
	return []Operation{OpPutWebhook, OpListWebhooks, OpDeleteWebhook, OpRegisterWebhookWithThirdParty, OpDeregisterWebhookWithThirdParty}
}

// Authentication types of a webhook.
const (
	WebhookGitHubHMAC      = "GITHUB_HMAC"
	WebhookIP              = "IP"
	WebhookUnauthenticated = "UNAUTHENTICATED"
)

// MaxWebhookFilters is the API's limit of filter rules per webhook.
const MaxWebhookFilters = 5

// RedactedSecret stands for a webhook's SecretToken in every answer.
const RedactedSecret = "****"

// WebhookPath prefixes the path of every webhook URL; the URL ID follows.
const WebhookPath = "/webhooks/v1/"

// WebhookFilterRule is CodePipeline's WebhookFilterRule.
type WebhookFilterRule struct {
	JSONPath    string `json:"jsonPath"`
	MatchEquals string `json:"matchEquals,omitempty"`
}

// WebhookAuthConfiguration is CodePipeline's WebhookAuthConfiguration.
type WebhookAuthConfiguration struct {
	AllowedIPRange string `json:"AllowedIPRange,omitempty"`
	SecretToken    string `json:"SecretToken,omitempty"`
}

// WebhookDefinition is CodePipeline's WebhookDefinition.
type WebhookDefinition struct {
	Name                        string                   `json:"name"`
	TargetPipeline              string                   `json:"targetPipeline"`
	TargetAction                string                   `json:"targetAction"`
	Filters                     []WebhookFilterRule      `json:"filters"`
	Authentication              string                   `json:"authentication"`
	AuthenticationConfiguration WebhookAuthConfiguration `json:"authenticationConfiguration"`
}

// WebhookItem is CodePipeline's ListWebhookItem (the SecretToken redacted).
type WebhookItem struct {
	Definition    WebhookDefinition `json:"definition"`
	URL           string            `json:"url"`
	ErrorMessage  string            `json:"errorMessage,omitempty"`
	ErrorCode     string            `json:"errorCode,omitempty"`
	LastTriggered *Timestamp        `json:"lastTriggered,omitempty"`
	Arn           string            `json:"arn"`
	Tags          []pipeline.Tag    `json:"tags,omitempty"`
}

// ListWebhooksOutput is a page of webhooks.
type ListWebhooksOutput struct {
	Webhooks  []WebhookItem `json:"webhooks"`
	NextToken string        `json:"NextToken,omitempty"`
}

type baseURLKey struct{}

// WithBaseURL tells the webhook operations the base URL webhook URLs start
// with (scheme and host, no path): the door sets it from the request.
func WithBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, strings.TrimSuffix(base, "/"))
}

// webhookURL is the URL of a webhook: the configured base URL, else the
// request's.
func (s *Service) webhookURL(ctx context.Context, urlID string) string {
	base := s.webhookBase
	if base == "" {
		base, _ = ctx.Value(baseURLKey{}).(string)
	}
	return base + WebhookPath + urlID
}

// WebhookArn is the ARN of a webhook.
func (s *Service) WebhookArn(name string) string { return s.arnPrefix() + "webhook:" + name }

func (s *Service) webhookStore() (store.WebhookStore, error) {
	ws, ok := s.store.(store.WebhookStore)
	if !ok {
		return nil, errs.New(errs.Unsupported, "this server's store keeps no webhooks")
	}
	return ws, nil
}

func webhookNotFound(err error, name string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, errs.KindWebhook, "webhook %q does not exist", name)
	}
	return err
}

func filterError(i int, format string, args ...any) error {
	return &errs.Error{Code: errs.Validation, Kind: errs.KindWebhookFilter, Message: "invalid webhook filter",
		Problems: []errs.Problem{{Path: "webhook.filters[" + strconv.Itoa(i) + "]", Message: fmt.Sprintf(format, args...)}}}
}

func authError(format string, args ...any) error {
	return &errs.Error{Code: errs.Validation, Kind: errs.KindWebhookAuth, Message: "invalid webhook authentication parameters",
		Problems: []errs.Problem{{Path: "webhook.authenticationConfiguration", Message: fmt.Sprintf(format, args...)}}}
}

// placeholder is a {Key} of a matchEquals: Key names a configuration key of
// the target action.
var placeholder = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// checkWebhookDefinition checks what the API model cannot: the pipeline and
// its action, the filters and the authentication.
func (s *Service) checkWebhookDefinition(ctx context.Context, d *WebhookDefinition) error {
	p, err := s.store.GetPipeline(ctx, d.TargetPipeline, 0)
	if err != nil {
		return pipelineNotFound(err, d.TargetPipeline)
	}
	if _, err := webhookAction(&p.Declaration, d.TargetAction); err != nil {
		return err
	}
	if len(d.Filters) == 0 || len(d.Filters) > MaxWebhookFilters {
		return filterError(0, "a webhook has 1 to %d filter rules, not %d", MaxWebhookFilters, len(d.Filters))
	}
	for i, f := range d.Filters {
		if _, err := jsonpath.Parse(f.JSONPath); err != nil {
			return filterError(i, "jsonPath %q is not a JSONPath expression (RFC 9535): %v", f.JSONPath, err)
		}
	}
	c := d.AuthenticationConfiguration
	switch d.Authentication {
	case WebhookGitHubHMAC:
		if c.SecretToken == "" || c.AllowedIPRange != "" {
			return authError("GITHUB_HMAC takes a SecretToken and nothing else")
		}
		if s.sealer == nil {
			return authError("this server has no key to seal a SecretToken with")
		}
	case WebhookIP:
		if c.AllowedIPRange == "" || c.SecretToken != "" {
			return authError("IP takes an AllowedIPRange and nothing else")
		}
		if _, err := netip.ParsePrefix(c.AllowedIPRange); err != nil {
			return authError("AllowedIPRange %q is not a CIDR range (such as 192.0.2.0/24): %v", c.AllowedIPRange, err)
		}
	case WebhookUnauthenticated:
		if c != (WebhookAuthConfiguration{}) {
			return authError("UNAUTHENTICATED takes no authentication configuration")
		}
	default:
		return authError("authentication %q is none of GITHUB_HMAC, IP, UNAUTHENTICATED", d.Authentication)
	}
	return nil
}

// webhookAction finds the target action in the pipeline's first stage, where
// CodePipeline requires it.
func webhookAction(p *pipeline.Pipeline, name string) (*pipeline.Action, error) {
	if len(p.Stages) > 0 {
		for i := range p.Stages[0].Actions {
			if a := &p.Stages[0].Actions[i]; a.Name == name {
				return a, nil
			}
		}
	}
	first := ""
	if len(p.Stages) > 0 {
		first = p.Stages[0].Name
	}
	return nil, errs.Invalid("invalid webhook", []errs.Problem{{Path: "webhook.targetAction",
		Message: fmt.Sprintf("pipeline %q has no action %q in its first (source) stage %q", p.Name, name, first)}})
}

func newURLID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// PutWebhook creates or replaces a webhook. A replaced webhook gets a new
// URL (CodePipeline: "deleting and re-creating a webhook makes the old URL
// invalid"); its tags are replaced by tags when tags are given.
func (s *Service) PutWebhook(ctx context.Context, d WebhookDefinition, tags []pipeline.Tag) (*WebhookItem, error) {
	arn := s.WebhookArn(d.Name)
	if err := s.authorizeTagging(ctx, OpPutWebhook, arn, tags, nil); err != nil {
		return nil, err
	}
	ws, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	if err := s.checkWebhookDefinition(ctx, &d); err != nil {
		return nil, err
	}
	if err := checkTags(tags, nil); err != nil {
		return nil, err
	}
	w := &store.Webhook{Name: d.Name, URLID: newURLID(), Updated: s.now()}
	if secret := d.AuthenticationConfiguration.SecretToken; secret != "" {
		if w.Secret, err = s.sealer.Seal([]byte(secret), []byte(d.Name)); err != nil {
			return nil, err
		}
	}
	kept := d
	kept.AuthenticationConfiguration.SecretToken = ""
	if w.Definition, err = json.Marshal(kept); err != nil {
		return nil, err
	}
	if err := ws.PutWebhook(ctx, w); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.store.TagResource(ctx, arn, tags); err != nil {
			return nil, err
		}
	}
	return s.webhookItem(ctx, w)
}

// webhookItem describes a stored webhook as ListWebhooks does.
func (s *Service) webhookItem(ctx context.Context, w *store.Webhook) (*WebhookItem, error) {
	var d WebhookDefinition
	if err := json.Unmarshal(w.Definition, &d); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding the definition of webhook %s", w.Name)
	}
	if len(w.Secret) > 0 {
		d.AuthenticationConfiguration.SecretToken = RedactedSecret
	}
	it := &WebhookItem{Definition: d, URL: s.webhookURL(ctx, w.URLID), Arn: s.WebhookArn(w.Name)}
	if !w.LastTriggered.IsZero() {
		it.LastTriggered = ts(w.LastTriggered)
	}
	tags, err := s.store.ListTags(ctx, it.Arn)
	if err != nil {
		return nil, err
	}
	it.Tags = tags
	return it, nil
}

// ListWebhooks lists the webhooks by name, maxResults (0: 100) at a time.
func (s *Service) ListWebhooks(ctx context.Context, maxResults int, nextToken string) (*ListWebhooksOutput, error) {
	if err := s.authorize(ctx, OpListWebhooks, AllResources); err != nil {
		return nil, err
	}
	ws, err := s.webhookStore()
	if err != nil {
		return nil, err
	}
	list, next, err := ws.ListWebhooks(ctx, store.Page{Token: nextToken, Limit: maxResults})
	if err != nil {
		return nil, tokenError(err)
	}
	out := &ListWebhooksOutput{Webhooks: []WebhookItem{}, NextToken: next}
	for i := range list {
		it, err := s.webhookItem(ctx, &list[i])
		if err != nil {
			return nil, err
		}
		out.Webhooks = append(out.Webhooks, *it)
	}
	return out, nil
}

// DeleteWebhook deletes a webhook and its tags; deleting one that does not
// exist succeeds, as CodePipeline's DeleteWebhook does.
func (s *Service) DeleteWebhook(ctx context.Context, name string) error {
	arn := s.WebhookArn(name)
	if err := s.authorize(ctx, OpDeleteWebhook, arn); err != nil {
		return err
	}
	ws, err := s.webhookStore()
	if err != nil {
		return err
	}
	if err := ws.DeleteWebhook(ctx, name); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	tags, err := s.store.ListTags(ctx, arn)
	if err != nil || len(tags) == 0 {
		return err
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Key
	}
	return s.store.UntagResource(ctx, arn, keys)
}

// RegisterWebhookWithThirdParty records that the webhook is registered:
// Stageflow calls no third party (the user adds the URL and secret to the
// repository's webhooks).
func (s *Service) RegisterWebhookWithThirdParty(ctx context.Context, name string) error {
	return s.setRegistered(ctx, OpRegisterWebhookWithThirdParty, name, true)
}

// DeregisterWebhookWithThirdParty records that the webhook is not
// registered.
func (s *Service) DeregisterWebhookWithThirdParty(ctx context.Context, name string) error {
	return s.setRegistered(ctx, OpDeregisterWebhookWithThirdParty, name, false)
}

func (s *Service) setRegistered(ctx context.Context, op Operation, name string, registered bool) error {
	if err := s.authorize(ctx, op, s.WebhookArn(name)); err != nil {
		return err
	}
	if name == "" {
		return errs.Invalid("invalid request", []errs.Problem{{Path: "webhookName", Message: "webhookName is required"}})
	}
	ws, err := s.webhookStore()
	if err != nil {
		return err
	}
	w, err := ws.GetWebhook(ctx, name)
	if err != nil {
		return webhookNotFound(err, name)
	}
	w.Registered, w.Updated = registered, s.now()
	return ws.PutWebhook(ctx, w)
}
