package ui

import (
	"context"
	"log/slog"
	"time"

	"fyne.io/systray"

	"github.com/tokentray/tokentray/internal/state"
)

// TrayLoopGrace is how long a quitting keeper waits for the tray's message
// loop to end before it exits without it.
const TrayLoopGrace = 5 * time.Second

// Run runs the tray's message loop on the calling (main) goroutine until
// ctx ends, then returns finish(). systray.Quit cannot end a message loop
// whose tray window was never made (Windows with no notification area yet,
// as at login before the shell is up, or under Wine): the loop would block
// forever and the keeper would never exit. So when the loop has not ended
// TrayLoopGrace after ctx, Run calls finish and then exit with 0 or, when
// finish failed, 1.
func (t *Tray) Run(ctx context.Context, finish func() error, exit func(code int)) error {
	returned := make(chan struct{})
	go func() { // SIGINT/SIGTERM, quit, restart
		<-ctx.Done()
		systray.Quit()
		select {
		case <-returned:
		case <-time.After(TrayLoopGrace):
			t.log.Warn("the tray's message loop did not end after quit; exiting without it", "waited", TrayLoopGrace)
			code := 0
			if err := finish(); err != nil {
				t.log.Error("keeper stopped", "error", err)
				code = 1
			}
			exit(code)
		}
	}()
	systray.Run(t.OnReady, t.Close)
	close(returned)
	return finish()
}

// Follow renders every snapshot of snaps in the tray and sends the desktop
// notifications eps derives from them, until snaps closes.
func (t *Tray) Follow(snaps <-chan state.Snapshot, eps *Episodes, n Notifier, log *slog.Logger) {
	for s := range snaps {
		t.Render(s)
		for _, note := range eps.Update(s) {
			if err := n.Send(note); err != nil {
				log.Warn("desktop notification not shown", "error", err)
			}
		}
	}
}
