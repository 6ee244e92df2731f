package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/seal/kms"
)

// keyAdminActions are what the account (its IAM policies: the deploying
// role, an administrator) may do with the secrets key: manage it, never use
// it. Listed one by one: no wildcard (TestNoWildcardActions).
var keyAdminActions = []string{
	"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource",
	"kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:ListKeyRotations", "kms:RotateKeyOnDemand",
	"kms:UpdateKeyDescription", "kms:EnableKey", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
	"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:ListGrants", "kms:RevokeGrant",
}

// keyUseActions are what the api function does with the key
// (shared/seal/kms: Encrypt and Decrypt, nothing else).
var keyUseActions = []string{"kms:Encrypt", "kms:Decrypt"}

// newSecretsKey declares the KMS key that seals the server's access keys'
// secrets in the table: symmetric, rotated yearly by KMS, its key policy
// the only one (it replaces CDK's default, which lets any IAM policy of the
// account use the key): the account may manage it, and only the api
// function's role may encrypt and decrypt, always with Stageflow's
// encryption context. Kept with the table when deletion protection is on
// (a retained table's secrets would not open otherwise).
func newSecretsKey(scope constructs.Construct, cfg Config, apiRole awsiam.Role) awskms.Key {
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountManagesTheKey"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
			Actions:    jsii.Strings(keyAdminActions...),
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("ApiFunctionSealsAccessKeySecrets"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(apiRole.RoleArn())},
			Actions:    jsii.Strings(keyUseActions...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{
				"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": []string{kms.ContextKey}},
				"Null":                      map[string]any{"kms:EncryptionContextKeys": "false"},
			},
		}),
	}})
	removal := awscdk.RemovalPolicy_DESTROY
	if cfg.DeletionProtection {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	return awskms.NewKey(scope, jsii.String("SecretsKey"), &awskms.KeyProps{
		Description:       jsii.String("Stageflow: seals the server's access keys' secrets in the table (only the api function may use it)"),
		EnableKeyRotation: jsii.Bool(true),
		Policy:            policy,
		RemovalPolicy:     removal,
	})
}

// allowOpening lets role decrypt with the secrets key — open what the api
// function sealed, never seal — bound to Stageflow's encryption context like
// the api function's use (the webhook function: webhooks' and connections'
// secrets).
func allowOpening(key awskms.Key, role awsiam.Role) {
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("WebhookFunctionOpensSecrets"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(role.RoleArn())},
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": []string{kms.ContextKey}},
			"Null":                      map[string]any{"kms:EncryptionContextKeys": "false"},
		},
	}), jsii.Bool(false))
}

// consoleUsers is the user pool the console signs in with, its domain
// (Cognito's hosted UI) and its app client.
type consoleUsers struct {
	Pool   awscognito.UserPool
	Domain awscognito.UserPoolDomain
	Client awscognito.UserPoolClient
}

// consoleScopes are the OAuth scopes the console asks for.
var consoleScopes = []string{"openid", "email", "profile"}

// newConsoleUsers declares the console's Cognito user pool: no self
// sign-up (an administrator invites users), sign-in by user name or email,
// a strong password policy with optional TOTP MFA, and one group per
// deployed.ConsoleGroups role; and its domain, where the hosted UI signs
// users in (consoleDomainPrefix). Its app client comes with the HTTP API,
// whose URL it returns to (addConsoleClient). A SAML identity provider (a
// company directory) can be added to the pool; see the README's "Deployed
// access control".
func newConsoleUsers(scope constructs.Construct, cfg Config) *consoleUsers {
	removal := awscdk.RemovalPolicy_DESTROY
	if cfg.DeletionProtection {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	pool := awscognito.NewUserPool(scope, jsii.String("ConsoleUsers"), &awscognito.UserPoolProps{
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Username: jsii.Bool(true), Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireDigits: jsii.Bool(true), RequireLowercase: jsii.Bool(true),
			RequireUppercase: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
		},
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		DeletionProtection: jsii.Bool(cfg.DeletionProtection),
		RemovalPolicy:      removal,
	})
	for i, g := range deployed.ConsoleGroups {
		pool.AddGroup(jsii.String("Group"+g.Name), &awscognito.UserPoolGroupOptions{
			GroupName: jsii.String(g.Name), Description: jsii.String(g.Description), Precedence: jsii.Number(float64(i)),
		})
	}
	domain := pool.AddDomain(jsii.String("ConsoleDomain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: consoleDomainPrefix(cfg)},
	})
	return &consoleUsers{Pool: pool, Domain: domain}
}

// consoleDomainPrefix is the user pool domain's prefix: the configured
// one, or the stack's name in lower case then the account (prefixes are
// unique per region across all accounts; LoadConfig checks that the name
// can start one).
func consoleDomainPrefix(cfg Config) *string {
	if cfg.ConsoleDomainPrefix != "" {
		return jsii.String(cfg.ConsoleDomainPrefix)
	}
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(strings.ToLower(cfg.StackName)), awscdk.Aws_ACCOUNT_ID()})
}

// addConsoleClient declares the console's app client of the pool: a
// browser's (no secret; SRP for scripts), with the hosted UI's
// authorization-code grant (a public client: the console uses PKCE) and
// no implicit grant, returning to the console at the API's own URL after
// signing in and after signing out.
func (u *consoleUsers) addConsoleClient(consoleURL *string) {
	scopes := map[string]awscognito.OAuthScope{
		"openid": awscognito.OAuthScope_OPENID(), "email": awscognito.OAuthScope_EMAIL(), "profile": awscognito.OAuthScope_PROFILE(),
	}
	var oauthScopes []awscognito.OAuthScope
	for _, s := range consoleScopes {
		oauthScopes = append(oauthScopes, scopes[s])
	}
	u.Client = u.Pool.AddClient(jsii.String("ConsoleClient"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(12)),
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true), ImplicitCodeGrant: jsii.Bool(false)},
			Scopes:       &oauthScopes,
			CallbackUrls: &[]*string{consoleURL},
			LogoutUrls:   &[]*string{consoleURL},
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
	})
}
