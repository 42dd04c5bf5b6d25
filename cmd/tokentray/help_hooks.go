package main

import (
	"github.com/spf13/cobra"
	"github.com/tokentray/tokentray/internal/hooks"
)

// newHooksHelp is the help topic `tokentray help hooks`.
func newHooksHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "hooks",
		Short: "Run your commands when an account is refreshed, needs sign-in, fails or recovers",
		Long:  hooks.Help,
	}
}
