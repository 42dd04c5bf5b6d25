package main

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2/app"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/ui"
)

type trayOptions struct {
	demo bool
}

// runTray starts the tray app with the settings read once at start.
func runTray(cmd *cobra.Command, g *globals, o trayOptions) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	l, err := loadSettings(g, true)
	if err != nil {
		return err
	}
	var c *core
	if o.demo {
		d, err := startDemo(ctx, g, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer d.Close()
		c = d.core
	} else {
		c, err = newCore(ctx, l, coreOptions{probe: true})
		if err != nil {
			return err
		}
		defer c.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- serveCore(ctx, c, nil) }()

	a := app.NewWithID("io.github.tokentray")
	u := ui.New(a, ui.Options{Engine: c.engine, Settings: c.settings, ConfigPath: l.Path, OnQuit: a.Quit})
	u.Start(ctx)
	a.Run()
	cancel()
	if err := <-errc; err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}
