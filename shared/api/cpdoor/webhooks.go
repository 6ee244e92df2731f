package cpdoor

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stageflow/stageflow/shared/service"
)

// ---- V1 webhooks ----

type cpWebhookFilterRule struct {
	JSONPath    string `json:"jsonPath" api:"required,shape=JsonPath"`
	MatchEquals string `json:"matchEquals" api:"shape=MatchEquals"`
}

type cpWebhookAuthConfiguration struct {
	AllowedIPRange string `json:"AllowedIPRange" api:"shape=WebhookAuthConfigurationAllowedIPRange"`
	SecretToken    string `json:"SecretToken" api:"shape=WebhookAuthConfigurationSecretToken"`
}

type cpWebhookDefinition struct {
	Name                        string                      `json:"name" api:"required,shape=WebhookName"`
	TargetPipeline              string                      `json:"targetPipeline" api:"required,shape=PipelineName"`
	TargetAction                string                      `json:"targetAction" api:"required,shape=ActionName"`
	Filters                     []cpWebhookFilterRule       `json:"filters" api:"required,shape=WebhookFilters"`
	Authentication              string                      `json:"authentication" api:"required,shape=WebhookAuthenticationType"`
	AuthenticationConfiguration *cpWebhookAuthConfiguration `json:"authenticationConfiguration" api:"required"`
}

type cpPutWebhookInput struct {
	Webhook cpWebhookDefinition `json:"webhook" api:"required"`
	Tags    []cpTag             `json:"tags" api:"shape=TagList"`
}

type cpPutWebhookOutput struct {
	Webhook *service.WebhookItem `json:"webhook"`
}

func cpPutWebhook(ctx context.Context, c *cpCall, in *cpPutWebhookInput) (any, error) {
	w := in.Webhook
	d := service.WebhookDefinition{Name: w.Name, TargetPipeline: w.TargetPipeline, TargetAction: w.TargetAction,
		Authentication: w.Authentication}
	if w.AuthenticationConfiguration != nil {
		d.AuthenticationConfiguration = service.WebhookAuthConfiguration(*w.AuthenticationConfiguration)
	}
	for _, f := range w.Filters {
		d.Filters = append(d.Filters, service.WebhookFilterRule(f))
	}
	out, err := c.svc.PutWebhook(ctx, d, cpToTags(in.Tags))
	if err != nil {
		return nil, err
	}
	return cpPutWebhookOutput{Webhook: out}, nil
}

type cpListWebhooksInput struct {
	NextToken  string `json:"NextToken" api:"shape=NextToken"`
	MaxResults *int   `json:"MaxResults" api:"shape=MaxResults"`
}

func cpListWebhooks(ctx context.Context, c *cpCall, in *cpListWebhooksInput) (any, error) {
	return c.svc.ListWebhooks(ctx, cpIntOr(in.MaxResults, 0), in.NextToken)
}

type cpDeleteWebhookInput struct {
	Name string `json:"name" api:"required,shape=WebhookName"`
}

func cpDeleteWebhook(ctx context.Context, c *cpCall, in *cpDeleteWebhookInput) (any, error) {
	return nil, c.svc.DeleteWebhook(ctx, in.Name)
}

type cpWebhookNameInput struct {
	WebhookName string `json:"webhookName" api:"shape=WebhookName"`
}

func cpRegisterWebhook(ctx context.Context, c *cpCall, in *cpWebhookNameInput) (any, error) {
	return nil, c.svc.RegisterWebhookWithThirdParty(ctx, in.WebhookName)
}

func cpDeregisterWebhook(ctx context.Context, c *cpCall, in *cpWebhookNameInput) (any, error) {
	return nil, c.svc.DeregisterWebhookWithThirdParty(ctx, in.WebhookName)
}

// requestBaseURL is the scheme and host a request reached the server by,
// which webhook URLs start with unless the server is configured with its
// own (service.Config.WebhookBaseURL); "" for a Host that is not a plain
// host[:port].
func requestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u, err := url.Parse(scheme + "://" + r.Host)
	if err != nil || r.Host == "" || u.Host != r.Host || u.Path != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	return scheme + "://" + r.Host
}
