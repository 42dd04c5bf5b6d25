package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"fyne.io/systray"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/autostart"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/wire"
	"github.com/tokentray/tokentray/ui"
)

type trayOptions struct {
	demo bool
}

// runTray runs the keeper with its tray icon: the engine, the control
// socket, the icon and menu (fyne.io/systray, no GUI toolkit) and desktop
// notifications. The window is a separate program it starts on demand. A
// second launch asks the running keeper to open its window and exits 0.
func runTray(cmd *cobra.Command, g *globals, o trayOptions) error {
	ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ignoreSIGPIPE()
	l, err := loadSettings(g, !o.demo)
	if err != nil {
		return err
	}
	trayHost := trayHostPresent()
	var stopOnce sync.Once
	var b *keeper.Backend
	var w *keeper.WindowLauncher
	// stop ends the keeper; on quit its windows close too, on a restart
	// they stay and reconnect to the new keeper.
	stop := func(closeWindows bool) {
		stopOnce.Do(func() {
			if closeWindows && b != nil {
				b.CloseWindows()
				w.StopStarting()
			}
			cancel()
			systray.Quit()
		})
	}
	quit := func() { stop(true) }
	var restart keeper.Restart // the keeper re-executes once stopped
	front := control.Front{
		Show:    func(sh control.Show) error { return w.Show(sh) },
		Quit:    quit,
		Restart: func(demo bool) { restart.Ask(demo); stop(false) },
	}
	path, err := controlPath()
	if err != nil {
		return err
	}
	sock, err := keeper.Claim(path, true)
	if errors.Is(err, keeper.ErrHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running; it was asked to open its window")
		return nil
	}
	if err != nil {
		return err
	}

	if o.demo {
		d, err := startDemo(ctx, g, cmd.ErrOrStderr(), trayHost)
		if err != nil {
			sock.Close()
			return err
		}
		defer d.Close()
		b = d.Backend()
	} else {
		b, err = keeper.Open(ctx, l, keeper.Options{Keeper: true, Probe: true, TrayHost: trayHost, Version: version})
		if err != nil {
			sock.Close()
			return err
		}
		defer b.Close()
		if err := autostart.Apply(b.Settings().Autostart); err != nil {
			b.Log().Warn("start at login: could not apply the setting", "error", err)
		}
	}
	log := b.Log()
	w = keeper.NewWindowLauncher(sock.Path(), b)
	errc := make(chan error, 1)
	go func() { errc <- sock.Serve(ctx, b, front) }()

	tray := ui.NewTray(ui.TrayActions{
		RefreshAll: func() {
			if _, err := b.Refresh(ctx, "", true); err != nil {
				log.Warn("refresh now", "error", err)
			}
		},
		Refresh: func(name string) {
			if _, err := b.Refresh(ctx, name, false); err != nil {
				log.Warn("refresh now", "account", name, "error", err)
			}
		},
		Open:     func() { w.Show(control.Show{Tab: wire.TabAccounts}) },
		Settings: func() { w.Show(control.Show{Tab: wire.TabSettings}) },
		SignIn:   func(name string) { w.Show(control.Show{Tab: wire.TabSignIn, Account: name}) },
		Quit:     quit,
	}, log)
	eps := &ui.Episodes{RadarDays: b.Settings().Radar.NotifyDays, Remind: b.Engine().RemindRadar}
	go tray.Follow(b.Engine().Subscribe(ctx), eps, ui.Notifier{}, log)
	w.OpenAtStart(trayHost)
	// finish ends the keeper once systray.Run has returned: the engine
	// stops (and flushes), then a restart re-executes.
	var finishOnce sync.Once
	var finishErr error
	finish := func() error {
		finishOnce.Do(func() {
			cancel()
			err := <-errc
			if rerr := restart.Do(sock); rerr != nil {
				log.Error("restart failed", "error", rerr)
				finishErr = fmt.Errorf("restart: %w", rerr)
				return
			}
			if err != nil {
				finishErr = fmt.Errorf("engine: %w", err)
			}
		})
		return finishErr
	}
	return tray.Run(ctx, finish, func(code int) { b.Close(); os.Exit(code) })
}
