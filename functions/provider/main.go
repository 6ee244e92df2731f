// Command provider is the provider function: the CloudFormation custom
// resource provider of Custom::StageflowPipeline (shared/cfnprovider),
// acting as its own principal under its policy.
package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/stageflow/stageflow/shared/cfnprovider"
	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	enforce := func(cfg *deployed.Config) { cfg.EnforcePolicies = true }
	deployed.MainWith("provider", deployed.ProviderEnv, enforce, func(sys *deployed.System, lg *slog.Logger) (any, error) {
		pol, err := cfnprovider.PolicyOf(sys.Config.ProviderPolicy)
		if err != nil {
			return nil, err
		}
		p := &cfnprovider.Provider{Service: sys.Service, Principal: cfnprovider.Principal(sys.Config.Account), Policy: pol}
		sender := &cfnprovider.Sender{}
		return func(ctx context.Context, raw json.RawMessage) error {
			err := p.Serve(ctx, sender, raw)
			if err != nil {
				lg.Error("provider: the response was not sent", "err", err)
			}
			return err
		}, nil
	})
}
