package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/ui"
)

// loadSettings reads the effective settings (flags > env > file > defaults).
func loadSettings(g *globals, create bool) (*config.Loaded, error) {
	flags := map[string]string{}
	for _, kv := range g.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, control.Usagef("--set %q: want KEY=VALUE, for example --set refresh.interval_hours=2", kv)
		}
		flags[k] = v
	}
	return config.Load(config.LoadOptions{Path: g.configPath, Flags: flags, Create: create})
}

func configPath(g *globals) (string, error) {
	if g.configPath != "" {
		return g.configPath, nil
	}
	return config.DefaultPath()
}

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show, check and change settings",
		Long: `Settings live in config.yaml under the user config directory. Precedence:
--set KEY=VALUE > environment (TOKENTRAY_REFRESH_INTERVAL_HOURS, ...) > file >
default. A running tokentray keeps the settings it started with; saved changes
apply after a restart.`,
	}
	var jsonOut bool
	path := &cobra.Command{
		Use:   "path",
		Short: "Print the settings file path",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := configPath(g)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), p)
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every effective setting with its source and allowed values",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadSettings(g, false)
			if err != nil {
				return err
			}
			type row struct {
				Key     string `json:"key"`
				Value   string `json:"value"`
				Source  string `json:"source"`
				Allowed string `json:"allowed"`
			}
			var rows []row
			for _, k := range config.Keys() {
				v, _ := config.Value(l.Settings, k.Name)
				src := string(l.Sources[k.Name])
				if ev := l.EnvVars[k.Name]; ev != "" {
					src = "env " + ev
				}
				rows = append(rows, row{k.Name, v, src, k.Allowed})
			}
			if jsonOut {
				return writeJSON(cmd, map[string]any{"path": l.Path, "exists": l.Exists, "settings": rows, "accounts": l.Settings.Accounts, "git_credentials": l.Settings.Git.Credentials})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# %s%s\n", l.Path, map[bool]string{false: " (not created yet)", true: ""}[l.Exists])
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE\tALLOWED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Key, r.Value, r.Source, r.Allowed)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(l.Settings.Accounts) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "\naccounts:")
				for _, a := range l.Settings.Accounts {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s\t%s\t%s%s\tclient %s\n", a.Name, a.Provider, a.Tenant, a.Issuer, a.ClientID)
				}
			}
			ui.WriteGitCredentials(cmd.OutOrStdout(), l.Settings)
			return nil
		},
	}
	show.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the settings file, environment and --set flags; exit 2 when anything is invalid",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadSettings(g, false)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s is valid (%d accounts)\n", l.Path, len(l.Settings.Accounts))
			return nil
		},
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one setting in the file (applies after restart)",
		Long:  "Change one setting in the file. The value is checked against the allowed range first; nothing is written when it is invalid.\n\nKeys:\n" + config.KeysHelp(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return control.Usagef("config set takes KEY VALUE, for example: tokentray config set refresh.interval_hours 2")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := configPath(g)
			if err != nil {
				return err
			}
			if _, err := config.Set(p, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s = %s in %s; a running tokentray applies it after restart\n", args[0], args[1], p)
			return nil
		},
	}
	cmd.AddCommand(path, show, validate, set)
	return cmd
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
