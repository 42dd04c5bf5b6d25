package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/engine"
)

// serveCore runs the engine until ctx ends. show, when set, brings the
// window forward for a second launch.
func serveCore(ctx context.Context, c *core, show func()) error {
	err := c.engine.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// refreshViaControl asks a running tokentray to refresh; done is false when
// none runs.
func refreshViaControl(cmd *cobra.Command, args []string, all, jsonOut bool) (done bool, err error) {
	return false, nil
}

// statusViaControl asks a running tokentray for its snapshot.
func statusViaControl(cmd *cobra.Command) (engine.Snapshot, bool) {
	return engine.Snapshot{}, false
}
