package deployed

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/service"
)

// The deployed HTTP API's paths beyond the doors' own (infra declares the
// routes; GatewayCallers maps them back onto the doors).
const (
	// ConsolePrefix is the prefix of the console's routes: every REST route
	// again under it, authorized by the Cognito user pool's JWT authorizer
	// instead of IAM (a browser cannot sign IAM requests). GatewayCallers
	// strips it, so those requests reach the same REST door.
	ConsolePrefix = "/console"
	// CodePipelineIAMPath is the CodePipeline door's IAM-authorized route,
	// for job workers on IAM role credentials that sign for execute-api
	// (POST / is open at the gateway and verified by Stageflow against its
	// own keys). GatewayCallers hands its requests to the door as POST /.
	CodePipelineIAMPath = "/codepipeline"
)

// PrincipalLookup returns the Stageflow policies attached to a principal
// ARN (none: an empty list): the service's principal-policy store.
type PrincipalLookup func(ctx context.Context, principal string) ([]*auth.Policy, error)

// Gateway establishes the caller of a request that API Gateway authorized,
// from the request context the Lambda adapter (httpadapter.NewV2) puts in
// the request's context — never from anything the client sent.
type Gateway struct {
	// Region and Account name the deployment's Cognito user pool's ARNs.
	Region, Account string
	// UserPoolID is the user pool whose tokens the console routes accept
	// (the JWT authorizer checks the token; this checks its issuer again).
	UserPoolID string
}

// GatewayCallers wraps the api function's handler (api.NewHandler):
//
//   - on an IAM-authorized route (every REST route, and POST
//     CodePipelineIAMPath), the caller is the IAM principal API Gateway
//     reports (user, role, assumed-role session), Verified and
//     GatewayAuthorized: IAM has allowed the route, and the Stageflow
//     policies attached to the principal (or, for a role session, to its
//     role) narrow it;
//   - on a console route (ConsolePrefix), the caller is the Cognito user
//     of the token, Verified but not GatewayAuthorized: it may do what the
//     policies attached to its groups (and to itself) allow, and nothing
//     without one; the prefix is stripped;
//   - on the open CodePipeline route (POST /), nothing: the door verifies
//     the request's signature against the server's keys itself.
//
// The policies are looked up once per request, when the service first asks
// (System.authorizer).
func (g Gateway) GatewayCallers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok {
			// Not an API Gateway event: the doors establish the caller.
			h.ServeHTTP(w, r)
			return
		}
		_, route, _ := strings.Cut(rc.RouteKey, " ")
		switch {
		case route == ConsolePrefix+"/v1" || strings.HasPrefix(route, ConsolePrefix+"/v1/"):
			caller, extra, why := g.consoleCaller(rc.Authorizer)
			if why != "" {
				restDenied(w, why)
				return
			}
			path, ok := strings.CutPrefix(r.URL.Path, ConsolePrefix)
			if !ok {
				restDenied(w, "the request's path is not under the console's prefix its route is")
				return
			}
			r = withPath(r, path)
			r = r.WithContext(withCaller(r.Context(), caller, extra))
		case rc.Authorizer != nil && rc.Authorizer.IAM != nil:
			caller, extra, why := iamCaller(rc.Authorizer.IAM)
			if why != "" {
				restDenied(w, why)
				return
			}
			// API Gateway reports an IAM principal only when its IAM
			// authorizer ran: that is what is trusted, whatever the route.
			caller.Door = service.DoorCodePipeline
			if route == "/v1" || strings.HasPrefix(route, "/v1/") {
				caller.Door = service.DoorREST
			}
			if route == CodePipelineIAMPath {
				r = withPath(r, "/")
			}
			r = r.WithContext(withCaller(r.Context(), caller, extra))
		}
		h.ServeHTTP(w, r)
	})
}

// withPath is r for another path (the query kept).
func withPath(r *http.Request, path string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = path, ""
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}

// principalARN is the shape of the principal ARNs IAM reports: printable,
// no spaces, of a bounded length.
var principalARN = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[\x21-\x7e]{1,1000}$`)

// assumedRole is an assumed-role session's ARN: its role's name, then the
// session's.
var assumedRole = regexp.MustCompile(`^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([\w+=,.@-]{1,64})/[\x21-\x7e]{1,64}$`)

// iamCaller is the caller of an IAM-authorized request: the principal's
// ARN as IAM reports it (userArn), and for an assumed-role session (a role's
// credentials, a SAML-federated user) its role's ARN, whose policies apply
// to every session of the role.
func iamCaller(iam *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription) (service.Caller, []string, string) {
	arn := iam.UserARN
	if !principalARN.MatchString(arn) {
		return service.Caller{}, nil, "API Gateway reported no IAM principal this server recognizes for the request"
	}
	var extra []string
	if m := assumedRole.FindStringSubmatch(arn); m != nil {
		extra = []string{"arn:" + m[1] + ":iam::" + m[2] + ":role/" + m[3]}
	}
	return service.Caller{Principal: arn, Verified: true, GatewayAuthorized: true}, extra, ""
}

// cognitoName is a Cognito user or group name this server names in ARNs.
var cognitoName = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)

// consoleCaller is the caller of a request the user pool's JWT authorizer
// let through: the user the token names, carrying the built-in policies of
// its ConsoleGroups, and its groups' ARNs, whose stored policies apply to
// it too.
func (g Gateway) consoleCaller(a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) (service.Caller, []string, string) {
	if a == nil || a.JWT == nil {
		return service.Caller{}, nil, "the console's routes take a Cognito user pool token (Authorization: Bearer …)"
	}
	claims := a.JWT.Claims
	if g.UserPoolID == "" || claims["iss"] != "https://cognito-idp."+g.Region+".amazonaws.com/"+g.UserPoolID {
		return service.Caller{}, nil, "the token was not issued by this deployment's user pool"
	}
	user := claims["cognito:username"]
	if user == "" {
		user = claims["username"] // access tokens
	}
	if !cognitoName.MatchString(user) {
		user = claims["sub"]
	}
	if !cognitoName.MatchString(user) {
		return service.Caller{}, nil, "the token names no user"
	}
	pool := "arn:aws:cognito-idp:" + g.Region + ":" + g.Account + ":userpool/" + g.UserPoolID
	var extra []string
	var policies []*auth.Policy
	for _, group := range tokenGroups(claims["cognito:groups"]) {
		if cognitoName.MatchString(group) {
			extra = append(extra, pool+"/group/"+group)
			policies = append(policies, groupPolicies(group)...)
		}
	}
	return service.Caller{Principal: pool + "/user/" + user, Door: service.DoorREST, Verified: true, Policies: policies}, extra, ""
}

// tokenGroups reads a token's cognito:groups claim as an HTTP API JWT
// authorizer passes it on: a list claim flattened to "[a b]" (or, should
// it come as JSON, ["a","b"]).
func tokenGroups(claim string) []string {
	claim = strings.TrimSpace(claim)
	var list []string
	if strings.HasPrefix(claim, `["`) && json.Unmarshal([]byte(claim), &list) == nil {
		return list
	}
	claim = strings.TrimSuffix(strings.TrimPrefix(claim, "["), "]")
	return strings.Fields(claim)
}

// restDenied answers a request whose gateway authorization this server
// does not accept, as the REST door answers a denial.
func restDenied(w http.ResponseWriter, why string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "AccessDeniedException", "message": why}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	w.Write(append(body, '\n'))
}

// gatewayPrincipals is what GatewayCallers adds to a request's context
// beside the caller: the principals whose policies apply to it besides its
// own (an assumed-role session's role, a console user's groups), and the
// policies once looked up.
type gatewayPrincipals struct {
	caller string
	extra  []string
	once   sync.Once
	pols   []*auth.Policy
	err    error
}

type gatewayKey struct{}

func withCaller(ctx context.Context, c service.Caller, extra []string) context.Context {
	ctx = service.WithCaller(ctx, c)
	return context.WithValue(ctx, gatewayKey{}, &gatewayPrincipals{caller: c.Principal, extra: extra})
}

// GatewayPolicies is the service's policy lookup deployed
// (service.NewPolicyAuthorizer's): the policies attached to the caller's
// principal and to those GatewayCallers named beside it (its role, its
// groups), looked up once per request.
func GatewayPolicies(lookup PrincipalLookup) service.PolicyLookup {
	all := func(ctx context.Context, principals []string) ([]*auth.Policy, error) {
		var out []*auth.Policy
		for _, p := range principals {
			pols, err := lookup(ctx, p)
			if err != nil {
				return nil, err
			}
			out = append(out, pols...)
		}
		return out, nil
	}
	return func(ctx context.Context, c service.Caller) ([]*auth.Policy, error) {
		if !c.Verified || c.AccessKeyID != "" || c.Door == service.DoorLocal {
			// A key's caller carries its key's policies; a local one needs none.
			return nil, nil
		}
		g, ok := ctx.Value(gatewayKey{}).(*gatewayPrincipals)
		if !ok || g.caller != c.Principal {
			return all(ctx, []string{c.Principal})
		}
		g.once.Do(func() { g.pols, g.err = all(ctx, append([]string{c.Principal}, g.extra...)) })
		return slices.Clip(g.pols), g.err
	}
}
