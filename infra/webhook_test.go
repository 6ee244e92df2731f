package main

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// TestWebhookThrottle: the webhook routes, open to anyone, are throttled
// at the stage, and the stage waits for them (CloudFormation refuses
// settings of a route that does not exist yet); no other route is. Their
// authorization and integration are TestHTTPAPI's.
func TestWebhookThrottle(t *testing.T) {
	tp := tmpl(t, &defaults)
	stage := tp.one(t, "AWS::ApiGatewayV2::Stage")
	settings, _ := props(stage)["RouteSettings"].(obj)
	if got := slices.Sorted(maps.Keys(settings)); !reflect.DeepEqual(got, []string{"POST /webhooks/connections/{connectionId}", "POST /webhooks/v1/{id}"}) {
		t.Errorf("route settings of %v, want the two webhook routes", got)
	}
	for key, set := range settings {
		if get(set, "ThrottlingRateLimit") != webhookThrottle.Rate || get(set, "ThrottlingBurstLimit") != webhookThrottle.Burst {
			t.Errorf("route %s: settings %v, want rate %v, burst %v", key, set, webhookThrottle.Rate, webhookThrottle.Burst)
		}
	}
	deps := map[string]bool{}
	for _, d := range list(stage["DependsOn"]) {
		deps[tp.name(fmt.Sprint(d))] = true
	}
	for path, r := range tp.ofType("AWS::ApiGatewayV2::Route") {
		if slices.Contains(webhookRoutes, fmt.Sprint(props(r)["RouteKey"])) && !deps[path] {
			t.Errorf("the stage does not depend on route %s (%v); it depends on %v", path, props(r)["RouteKey"], keys(deps))
		}
	}
}
