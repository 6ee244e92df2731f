// Command infra is the CDK app of Stageflow's AWS deployment (cdk.json at
// the repository's root runs it: `make synth`, `make deploy`). One stack,
// declared by concern: the store's table (table.go), the functions
// (functions.go), the state machine (statemachine.go), the HTTP API
// (httpapi.go), the artifact bucket and its access role (bucket.go), the
// grants and outputs (stack.go); configuration from CDK context values
// (config.go).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := LoadConfig(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err == nil {
		_, err = NewStack(app, cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "stageflow infra: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
