package main

import (
	"context"

	"fyne.io/fyne/v2/app"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/ui"
)

type trayOptions struct {
	demo bool
}

// runTray starts the tray app with the settings read once at start.
func runTray(cmd *cobra.Command, g *globals, o trayOptions) error {
	l, err := loadSettings(g, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	a := app.NewWithID("io.github.tokentray")
	u := ui.New(a, ui.Options{Settings: l.Settings, ConfigPath: l.Path, OnQuit: a.Quit})
	u.Start(ctx)
	a.Run()
	return nil
}

func addCommands(root *cobra.Command, g *globals) {}

func engineExitCode(err error) int { return 0 }
