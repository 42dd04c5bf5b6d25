package keeper

import (
	"context"

	"github.com/tokentray/tokentray/internal/hooks"
)

// StartHooks runs the user's hooks (settings hooks.*) on the engine's
// events until ctx ends or the returned stop is called; stop returns once
// the hooks still running are killed. Hooks get socket so that `tokentray
// token` in a hook asks this keeper.
func (b *Backend) StartHooks(ctx context.Context, socket string) (stop func()) {
	o := hooks.FromSettings(b.settings.Hooks)
	if len(o.Commands) == 0 {
		return func() {}
	}
	o.Socket = socket
	o.Log = b.log
	o.Redact = b.engine // a hook may print the token it asked for
	r := hooks.New(o)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	snaps := b.engine.Subscribe(ctx)
	go func() {
		defer close(done)
		r.Run(ctx, snaps)
	}()
	b.log.Info("hooks enabled", "events", len(o.Commands), "timeout", o.Timeout)
	return func() { cancel(); <-done }
}
