package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/azuremi"
	"github.com/tokentray/tokentray/internal/keeper"
)

// writeAzureEnv prints the exports of the running keeper's Azure SDK
// endpoint of the account named by args (or the only one).
func writeAzureEnv(cmd *cobra.Command, g *globals, args []string, set assignment) error {
	kc, err := keeperClient()
	if err != nil {
		return err
	}
	if kc == nil {
		return errors.New("the Azure SDK endpoint is served by the running keeper, and none runs: start it (tokentray, or tokentray run --headless), then run this again")
	}
	l, err := loadSettings(g, false)
	if err != nil {
		return err
	}
	account := ""
	if len(args) == 1 {
		account = args[0]
	}
	endpoint, secret, err := keeper.AzureSDKEnv(cmd.Context(), l, account)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", set("IDENTITY_ENDPOINT", endpoint), set("IDENTITY_HEADER", secret))
	return err
}

// printAzureEndpoints adds to status the running keeper's Azure SDK
// endpoints: listening, or why not.
func printAzureEndpoints(cmd *cobra.Command) error {
	dir, err := keeper.StateDir()
	if err != nil {
		return err
	}
	eps, err := keeper.AzureEndpoints(dir)
	if err != nil || len(eps) == 0 {
		return err
	}
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	slices.Sort(names)
	out := cmd.OutOrStdout()
	for _, n := range names {
		e := eps[n]
		url := "http://127.0.0.1:" + strconv.Itoa(e.Port) + azuremi.Path
		switch {
		case e.Listening:
			fmt.Fprintf(out, "azure sdk endpoint of %s: %s, listening\n", n, url)
		case e.Problem != "":
			fmt.Fprintf(out, "azure sdk endpoint of %s: %s, not listening: %s\n", n, url, e.Problem)
		}
	}
	return nil
}
