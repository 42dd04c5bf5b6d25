package main

import (
	"context"

	"github.com/tokentray/tokentray/internal/hooks"
)

// startHooks runs the settings' hooks on the engine's events until ctx
// ends or the returned stop is called; stop returns once the hooks still
// running are killed.
// Hooks get socket so that `tokentray token` in a hook asks this keeper.
func startHooks(ctx context.Context, c *core, socket string) (stop func()) {
	o := hooks.FromSettings(c.settings.Hooks)
	if len(o.Commands) == 0 {
		return func() {}
	}
	o.Socket = socket
	o.Log = c.log
	r := hooks.New(o)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	snaps := c.engine.Subscribe(ctx)
	go func() {
		defer close(done)
		r.Run(ctx, snaps)
	}()
	c.log.Info("hooks enabled", "events", len(o.Commands), "timeout", o.Timeout)
	return func() { cancel(); <-done }
}
