package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"fyne.io/systray"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/vault"
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
	var k *keeper
	var w *windowLauncher
	// stop ends the keeper; on quit its windows close too, on a restart
	// they stay and reconnect to the new keeper.
	stop := func(closeWindows bool) {
		stopOnce.Do(func() {
			if closeWindows && k != nil {
				k.closeWindows()
				w.stopStarting()
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
	k = newKeeper(keeperHooks{
		show:    func(sh control.Show) error { return w.show(sh) },
		quit:    quit,
		restart: restart,
	}, o.demo, trayHost)
	srv, err := claimInstance(k, true)
	if errors.Is(err, errHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running; it was asked to open its window")
		return nil
	}
	if err != nil {
		return err
	}

	var c *core
	if o.demo {
		d, err := startDemo(ctx, g, cmd.ErrOrStderr())
		if err != nil {
			srv.Close()
			return err
		}
		defer d.Close()
		c = d.core
	} else {
		c, err = newCore(ctx, l, coreOptions{probe: true})
		if err != nil {
			srv.Close()
			return err
		}
		defer c.Close()
		if err := applyAutostart(c.settings); err != nil {
			c.log.Warn("start at login: could not apply the setting", "error", err)
		}
	}
	w = newWindowLauncher(srv.Path(), filepath.Join(c.stateDir, "tokentray.log"), k, c.log)
	errc := make(chan error, 1)
	go func() { errc <- serveCore(ctx, c, srv, k) }()

	userCtx := vault.Interactive(ctx) // the user clicked: a keychain prompt may appear
	tray := ui.NewTray(ui.TrayActions{
		RefreshAll: func() {
			if _, err := refreshMany(userCtx, c, nil, nil); err != nil {
				c.log.Warn("refresh now", "error", err)
			}
		},
		Refresh: func(name string) {
			if _, err := c.engine.RefreshNow(userCtx, name); err != nil {
				c.log.Warn("refresh now", "account", name, "error", err)
			}
		},
		Open:     func() { w.show(control.Show{Tab: control.TabAccounts}) },
		Settings: func() { w.show(control.Show{Tab: control.TabSettings}) },
		SignIn:   func(name string) { w.show(control.Show{Tab: control.TabSignIn, Account: name}) },
		Quit:     quit,
	}, c.log)
	go func() { // the tray and notifications follow the engine
		eps := ui.Episodes{RadarDays: c.settings.Radar.NotifyDays, Remind: c.engine.RemindRadar}
		var n ui.Notifier
		for s := range c.engine.Subscribe(ctx) {
			tray.Render(s)
			for _, note := range eps.Update(s) {
				if err := n.Send(note); err != nil {
					c.log.Warn("desktop notification not shown", "error", err)
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
		w.expectReconnect()
	}
	if !restarted && (!trayHost || !c.settings.UI.StartMinimized || len(c.engine.Snapshot().Accounts) == 0) {
		if err := w.show(control.Show{Tab: control.TabAccounts}); err != nil {
			c.log.Warn("window not opened", "error", err)
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
					c.log.Error("restart failed", "error", rerr)
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
			c.log.Warn("the tray's message loop did not end after quit; exiting without it", "waited", trayLoopGrace)
			code := 0
			if err := finish(); err != nil {
				c.log.Error("keeper stopped", "error", err)
				code = 1
			}
			c.Close()
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

// windowLauncher opens the window program, or brings an open window
// forward through its subscription.
type windowLauncher struct {
	socket  string
	logFile string // where the window's own warnings go
	k       *keeper
	log     *slog.Logger

	mu             sync.Mutex
	child          *os.Process // the window being started or running
	started        time.Time
	reconnectUntil time.Time // a window of the previous keeper may reconnect until then
}

func newWindowLauncher(socket, logFile string, k *keeper, log *slog.Logger) *windowLauncher {
	return &windowLauncher{socket: socket, logFile: logFile, k: k, log: log}
}

// startGrace is how long a window process just started has to subscribe
// before another show starts a second one; reconnectGrace how long a
// restarted keeper waits for the window of its predecessor to reconnect.
const (
	startGrace     = 10 * time.Second
	reconnectGrace = 8 * time.Second
)

// expectReconnect tells w that a window of the keeper this one replaced may
// be reconnecting: shows in the next reconnectGrace wait for it.
func (w *windowLauncher) expectReconnect() {
	w.mu.Lock()
	w.reconnectUntil = time.Now().Add(reconnectGrace)
	w.mu.Unlock()
}

// stopStarting ends a window process this keeper started that has not
// subscribed yet (it would not hear the keeper quit). It holds no state.
func (w *windowLauncher) stopStarting() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.child != nil && !w.k.hasWindow() {
		w.child.Kill()
	}
}

// awaitReconnect waits (within the reconnect grace) for the window of the
// previous keeper to subscribe, and shows sh in it.
func (w *windowLauncher) awaitReconnect(sh control.Show) bool {
	w.mu.Lock()
	until := w.reconnectUntil
	w.mu.Unlock()
	for time.Now().Before(until) {
		time.Sleep(50 * time.Millisecond)
		if w.k.showInWindow(sh) {
			return true
		}
	}
	return false
}

// show brings the window forward on sh's tab, starting the window program
// when none is open.
func (w *windowLauncher) show(sh control.Show) error {
	if w == nil {
		return errors.New("the window is not ready yet")
	}
	if w.k.showInWindow(sh) || w.awaitReconnect(sh) {
		w.log.Info("window brought forward", "tab", sh.Tab)
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.child != nil && time.Since(w.started) < startGrace {
		return nil // starting: it opens on its own
	}
	exe, err := windowProgram()
	if err != nil {
		return err
	}
	args := []string{"--tab", sh.Tab}
	if sh.Tab == "" {
		args = []string{"--tab", control.TabAccounts}
	}
	if sh.Account != "" {
		args = append(args, "--account", sh.Account)
	}
	p := exec.Command(exe, args...)
	p.Env = append(os.Environ(), "TOKENTRAY_CONTROL_SOCKET="+w.socket)
	if f, err := os.OpenFile(w.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
		p.Stdout, p.Stderr = f, f // the window outlives no terminal of ours
		defer f.Close()
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start the window (%s): %w", exe, err)
	}
	w.child, w.started = p.Process, time.Now()
	w.log.Info("window started", "pid", p.Process.Pid)
	go func() {
		err := p.Wait()
		w.mu.Lock()
		if w.child == p.Process {
			w.child = nil
		}
		w.mu.Unlock()
		if err != nil {
			w.log.Warn("window exited", "error", err)
		}
	}()
	return nil
}

// windowProgram finds tokentray-window: $TOKENTRAY_WINDOW_BIN, beside this
// executable, or on PATH.
func windowProgram() (string, error) {
	if p := os.Getenv("TOKENTRAY_WINDOW_BIN"); p != "" {
		return p, nil
	}
	name := "tokentray-window"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("the window program %s is not installed beside tokentray or on PATH: reinstall tokentray, or use tokentray status and the tray menu", name)
	}
	return p, nil
}
