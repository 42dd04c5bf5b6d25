package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"fyne.io/systray"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/autostart"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
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
	var restartTo []string // set by restart: the keeper re-executes with these args on exit
	var restartMu sync.Mutex
	restart := func(demo bool) {
		args := os.Args[1:]
		if demo {
			args = []string{"demo"}
		}
		restartMu.Lock()
		restartTo = args
		restartMu.Unlock()
		stop(false)
	}
	front := control.Front{
		Show:    func(sh control.Show) error { return w.Show(sh) },
		Quit:    quit,
		Restart: restart,
	}
	slot := &handlerSlot{}
	srv, err := claimInstance(slot, true)
	if errors.Is(err, errHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running; it was asked to open its window")
		return nil
	}
	if err != nil {
		return err
	}

	if o.demo {
		d, err := startDemo(ctx, g, cmd.ErrOrStderr(), trayHost)
		if err != nil {
			srv.Close()
			return err
		}
		defer d.Close()
		b = d.Backend()
	} else {
		b, err = keeper.Open(ctx, l, keeper.Options{Keeper: true, Probe: true, TrayHost: trayHost, Version: version})
		if err != nil {
			srv.Close()
			return err
		}
		defer b.Close()
		if err := autostart.Apply(b.Settings().Autostart); err != nil {
			b.Log().Warn("start at login: could not apply the setting", "error", err)
		}
	}
	log := b.Log()
	w = keeper.NewWindowLauncher(srv.Path(), b)
	errc := make(chan error, 1)
	go func() { errc <- serveKeeper(ctx, b, srv, slot, front) }()

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
		Open:     func() { w.Show(control.Show{Tab: control.TabAccounts}) },
		Settings: func() { w.Show(control.Show{Tab: control.TabSettings}) },
		SignIn:   func(name string) { w.Show(control.Show{Tab: control.TabSignIn, Account: name}) },
		Quit:     quit,
	}, log)
	go func() { // the tray and notifications follow the engine
		eps := ui.Episodes{RadarDays: b.Settings().Radar.NotifyDays, Remind: b.Engine().RemindRadar}
		var n ui.Notifier
		for s := range b.Engine().Subscribe(ctx) {
			tray.Render(s)
			for _, note := range eps.Update(s) {
				if err := n.Send(note); err != nil {
					log.Warn("desktop notification not shown", "error", err)
				}
			}
		}
	}()
	// The window opens at start unless the user asked to start minimized
	// and there is a tray icon to reach it by; with no account yet it opens
	// so the user can add one (or try the demo).
	// After a restart the open window reconnects by itself.
	restarted := os.Getenv(envRestarted) != ""
	os.Unsetenv(envRestarted)
	if restarted {
		w.ExpectReconnect()
	}
	if !restarted && (!trayHost || !b.Settings().UI.StartMinimized || len(b.Engine().Snapshot().Accounts) == 0) {
		if err := w.Show(control.Show{Tab: control.TabAccounts}); err != nil {
			log.Warn("window not opened", "error", err)
		}
	}
	// finish ends the keeper once systray.Run has returned: the engine
	// stops (and flushes), then a restart re-executes.
	var finishOnce sync.Once
	var finishErr error
	finish := func() error {
		finishOnce.Do(func() {
			cancel()
			err := <-errc
			restartMu.Lock()
			args := restartTo
			restartMu.Unlock()
			if args != nil {
				srv.Close() // released before the new keeper claims it
				if rerr := reexec(args); rerr != nil {
					log.Error("restart failed", "error", rerr)
					finishErr = fmt.Errorf("restart: %w", rerr)
					return
				}
			}
			if err != nil {
				finishErr = fmt.Errorf("engine: %w", err)
			}
		})
		return finishErr
	}
	runReturned := make(chan struct{})
	go func() { // SIGINT/SIGTERM, quit, restart
		<-ctx.Done()
		systray.Quit()
		// systray.Quit cannot end a message loop whose tray window was
		// never made (Windows with no notification area yet, as at login
		// before the shell is up, or under Wine): the loop would block
		// forever and the keeper would never exit. Give it trayLoopGrace,
		// then finish without it.
		select {
		case <-runReturned:
		case <-time.After(trayLoopGrace):
			log.Warn("the tray's message loop did not end after quit; exiting without it", "waited", trayLoopGrace)
			code := 0
			if err := finish(); err != nil {
				log.Error("keeper stopped", "error", err)
				code = 1
			}
			b.Close()
			os.Exit(code)
		}
	}()
	systray.Run(tray.OnReady, tray.Close)
	close(runReturned)
	return finish()
}

// trayLoopGrace is how long a quitting keeper waits for the tray's message
// loop to end before it exits without it.
const trayLoopGrace = 5 * time.Second

// envRestarted marks a keeper started by a restart.
const envRestarted = "TOKENTRAY_RESTARTED"

// reexec starts `tokentray args...` detached from this process. The new
// keeper does not inherit this one's stdout and stderr: they may be a pipe
// or terminal that closes when this process exits (it logs to its file).
func reexec(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p := exec.Command(exe, args...)
	p.Env = append(os.Environ(), envRestarted+"=1")
	if err := p.Start(); err != nil {
		return err
	}
	return p.Process.Release()
}
