package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/autostart"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/doctor"
)

func newDoctorCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the keychain, tray host, settings, clocks and providers; one line each with the fix",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadSettings(g, false)
			checks := doctor.Run(cmd.Context(), doctor.Options{Loaded: l, LoadErr: err, TrayHost: trayHostPresent()})
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if jsonOut {
				if err := writeJSON(cmd, map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					line := fmt.Sprintf("%s %-18s %s", mark, c.Name, c.Detail)
					if !c.OK && c.Fix != "" {
						line += " — fix: " + c.Fix
					}
					fmt.Fprintln(cmd.OutOrStdout(), line)
				}
			}
			if failed > 0 {
				return &control.CodedError{Code: exitFailure, Err: fmt.Errorf("%d of %d checks failed", failed, len(checks))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newAutostartCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autostart enable|disable|status",
		Short: "Start tokentray at login (XDG autostart, macOS LaunchAgent, Windows HKCU Run)",
	}
	enable := &cobra.Command{
		Use:   "enable",
		Short: "Start tokentray at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := autostart.LoginEntry()
			if err != nil {
				return err
			}
			if err := autostart.Enable(e); err != nil {
				return err
			}
			if err := setAutostartSetting(g, true); err != nil {
				return err
			}
			st, _ := autostart.Current()
			fmt.Fprintf(cmd.OutOrStdout(), "tokentray starts at login (%s)\n", st.Where)
			return nil
		},
	}
	disable := &cobra.Command{
		Use:   "disable",
		Short: "Do not start tokentray at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := autostart.Disable(); err != nil {
				return err
			}
			if err := setAutostartSetting(g, false); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "tokentray no longer starts at login")
			return nil
		},
	}
	var jsonOut bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether tokentray starts at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := autostart.Current()
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd, st)
			}
			if st.Enabled {
				fmt.Fprintf(cmd.OutOrStdout(), "on: %s\n", st.Where)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "off (%s does not exist)\n", st.Where)
			}
			return nil
		},
	}
	status.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.AddCommand(enable, disable, status)
	return cmd
}

// setAutostartSetting keeps the autostart setting in the file in step with
// the entry, so the tray (which applies the setting at start) agrees.
func setAutostartSetting(g *globals, on bool) error {
	p, err := configPath(g)
	if err != nil {
		return err
	}
	_, err = config.Set(p, "autostart", fmt.Sprint(on))
	return err
}
