package apispec

// The shapes of the V1 webhook operations (PutWebhook and the others).
func init() {
	str("WebhookName", 1, 100, patName, patNameWhat)
	str("JsonPath", 1, 150, "", "")
	str("MatchEquals", 1, 150, "", "")
	str("WebhookAuthConfigurationAllowedIPRange", 1, 100, "", "")
	str("WebhookAuthConfigurationSecretToken", 1, 100, "", "")
	list("WebhookFilters", 0, 5, "")
	enum("WebhookAuthenticationType", "GITHUB_HMAC", "IP", "UNAUTHENTICATED")
}
