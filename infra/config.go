package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Config is what a deployment can choose. Each field comes from a CDK context
// value (`cdk deploy -c stageflow:deletionProtection=false`, or the context of
// cdk.json); ContextKeys names them.
type Config struct {
	// StackName is the CloudFormation stack (and the prefix of the state
	// machine's name).
	StackName string
	// DeletionProtection turns on the table's deletion protection and makes
	// CloudFormation keep the table and the artifact bucket when the stack
	// (or the resource) is deleted. Off, both are deleted with the stack (a
	// bucket only when it is empty).
	DeletionProtection bool
	// LogRetentionDays is how long the functions' and the state machine's
	// logs are kept; 0 keeps them for ever.
	LogRetentionDays int
	// ArtifactExpirationDays deletes artifacts that many days after they
	// were written; 0 keeps them.
	ArtifactExpirationDays int
	// LambdaDir holds one folder per function (api, advance, dispatch), each
	// with its bootstrap (make build-lambdas writes build/lambda).
	LambdaDir string
	// ConsoleDomainPrefix is the prefix of the user pool's domain, where
	// the console's users sign in (Cognito's hosted UI at
	// https://PREFIX.auth.REGION.amazoncognito.com). Empty: the stack's name
	// in lower case and the account (consoleDomainPrefix); prefixes are
	// unique per region across every AWS account.
	ConsoleDomainPrefix string
}

// The context keys of Config.
const (
	ctxStackName          = "stageflow:stackName"
	ctxDeletionProtection = "stageflow:deletionProtection"
	ctxLogRetentionDays   = "stageflow:logRetentionDays"
	ctxArtifactExpiration = "stageflow:artifactExpirationDays"
	ctxLambdaDir          = "stageflow:lambdaDir"
	ctxConsoleDomain      = "stageflow:consoleDomainPrefix"
)

// ContextKeys lists the context keys a deployment can set.
var ContextKeys = []string{ctxStackName, ctxDeletionProtection, ctxLogRetentionDays, ctxArtifactExpiration, ctxLambdaDir, ctxConsoleDomain}

// DefaultConfig is the configuration without any context value.
func DefaultConfig() Config {
	return Config{
		StackName:              "Stageflow",
		DeletionProtection:     true,
		LogRetentionDays:       30,
		ArtifactExpirationDays: 90,
		LambdaDir:              "build/lambda",
	}
}

// retentionDays are the retention periods CloudWatch Logs accepts, in days.
var retentionDays = map[int]awslogs.RetentionDays{
	0:    awslogs.RetentionDays_INFINITE,
	1:    awslogs.RetentionDays_ONE_DAY,
	3:    awslogs.RetentionDays_THREE_DAYS,
	5:    awslogs.RetentionDays_FIVE_DAYS,
	7:    awslogs.RetentionDays_ONE_WEEK,
	14:   awslogs.RetentionDays_TWO_WEEKS,
	30:   awslogs.RetentionDays_ONE_MONTH,
	60:   awslogs.RetentionDays_TWO_MONTHS,
	90:   awslogs.RetentionDays_THREE_MONTHS,
	120:  awslogs.RetentionDays_FOUR_MONTHS,
	150:  awslogs.RetentionDays_FIVE_MONTHS,
	180:  awslogs.RetentionDays_SIX_MONTHS,
	365:  awslogs.RetentionDays_ONE_YEAR,
	400:  awslogs.RetentionDays_THIRTEEN_MONTHS,
	545:  awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731:  awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// stackName is what CloudFormation accepts as a stack name, kept short
// enough that "<stack>-executions" names a state machine (80 characters).
var stackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)

// maxArtifactExpirationDays bounds the lifecycle rule (S3 takes any positive
// number of days; ten years is more than any pipeline needs).
const maxArtifactExpirationDays = 3653

// LoadConfig reads the configuration from context values: get returns the
// value of a key, nil when it is not set. Values given on the command line
// are strings; those of cdk.json may be JSON booleans and numbers. Every
// problem is reported, each naming its key.
func LoadConfig(get func(key string) any) (Config, error) {
	c := DefaultConfig()
	var problems []string
	bad := func(key string, v any, want string) {
		problems = append(problems, fmt.Sprintf("context %s: %s, got %#v", key, want, v))
	}
	if v := get(ctxStackName); v != nil {
		if s, ok := v.(string); ok && stackName.MatchString(s) {
			c.StackName = s
		} else {
			bad(ctxStackName, v, "must be a letter then up to 63 letters, digits or hyphens")
		}
	}
	if v := get(ctxDeletionProtection); v != nil {
		if b, ok := asBool(v); ok {
			c.DeletionProtection = b
		} else {
			bad(ctxDeletionProtection, v, "must be true or false")
		}
	}
	if v := get(ctxLogRetentionDays); v != nil {
		if n, ok := asInt(v); ok && hasRetention(n) {
			c.LogRetentionDays = n
		} else {
			bad(ctxLogRetentionDays, v, "must be a retention CloudWatch Logs accepts (0 for ever, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)")
		}
	}
	if v := get(ctxArtifactExpiration); v != nil {
		if n, ok := asInt(v); ok && n >= 0 && n <= maxArtifactExpirationDays {
			c.ArtifactExpirationDays = n
		} else {
			bad(ctxArtifactExpiration, v, fmt.Sprintf("must be a whole number of days from 0 (keep artifacts) to %d", maxArtifactExpirationDays))
		}
	}
	if v := get(ctxLambdaDir); v != nil {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			c.LambdaDir = s
		} else {
			bad(ctxLambdaDir, v, "must be the path of a folder")
		}
	}
	if v := get(ctxConsoleDomain); v != nil {
		if s, ok := v.(string); ok && validDomainPrefix(s) {
			c.ConsoleDomainPrefix = s
		} else {
			bad(ctxConsoleDomain, v, "must be 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen, "+
				"without aws, amazon or cognito (Cognito's rule for domain prefixes)")
		}
	} else if !validDomainPrefix(strings.ToLower(c.StackName)) {
		problems = append(problems, fmt.Sprintf("context %s: the stack's name %q cannot start the console's Cognito domain "+
			"(it contains aws, amazon or cognito, or ends with a hyphen): set a prefix", ctxConsoleDomain, c.StackName))
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return c, nil
}

// domainPrefix is a Cognito domain prefix: lower-case letters, digits and
// hyphens, neither first nor last a hyphen.
var domainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// validDomainPrefix reports whether Cognito takes a domain prefix: its
// shape, and none of the words it reserves.
func validDomainPrefix(s string) bool {
	if !domainPrefix.MatchString(s) {
		return false
	}
	for _, w := range []string{"aws", "amazon", "cognito"} {
		if strings.Contains(s, w) {
			return false
		}
	}
	return true
}

func hasRetention(days int) bool {
	_, ok := retentionDays[days]
	return ok
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch v {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func asInt(v any) (int, bool) {
	switch v := v.(type) {
	case float64: // a JSON number of cdk.json
		if v == float64(int(v)) {
			return int(v), true
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, true
		}
	}
	return 0, false
}
