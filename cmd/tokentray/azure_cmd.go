package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/shell"
)

// writeAzureEnv prints the exports of the running keeper's Azure SDK
// endpoint of the account named by args (or the only one).
func writeAzureEnv(cmd *cobra.Command, g *globals, args []string, set shell.Assign) error {
	account := ""
	if len(args) == 1 {
		account = args[0]
	}
	return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
		env, err := svc.AzureSDKEnv(ctx, account)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", set("IDENTITY_ENDPOINT", env.Endpoint), set("IDENTITY_HEADER", env.Header))
		return err
	})
}
