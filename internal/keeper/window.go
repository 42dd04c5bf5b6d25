package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// The keeper's windows: the subscribers that are windows (show requests go
// to them) and the launcher that starts the window program when none is
// open.

// window is one subscribed window: where its show requests go.
type window struct{ show func(control.Show) }

// Subscribe streams snapshots (the current one first) to onSnapshot and,
// for a window, show requests to onShow, until ctx ends.
func (b *Backend) Subscribe(ctx context.Context, isWindow bool, onSnapshot func(state.Snapshot), onShow func(control.Show)) error {
	if isWindow {
		w := &window{show: onShow}
		b.mu.Lock()
		b.windows[w] = struct{}{}
		b.mu.Unlock()
		b.log.Info("window connected")
		defer func() {
			b.mu.Lock()
			delete(b.windows, w)
			b.mu.Unlock()
			b.log.Info("window disconnected")
		}()
	}
	for snap := range b.engine.Subscribe(ctx) {
		onSnapshot(snap)
	}
	return nil
}

// ShowInWindow sends a show request to an open window and reports whether
// there was one.
func (b *Backend) ShowInWindow(sh control.Show) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for w := range b.windows {
		if w.show != nil {
			w.show(sh)
			return true
		}
	}
	return false
}

// HasWindow reports whether a window is subscribed.
func (b *Backend) HasWindow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.windows) > 0
}

// CloseWindows asks every open window to close (the keeper quits).
func (b *Backend) CloseWindows() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for w := range b.windows {
		if w.show != nil {
			w.show(control.Show{Close: true})
		}
	}
}

// WindowLauncher opens the window program, or brings an open window
// forward through its subscription.
type WindowLauncher struct {
	socket  string
	logFile string // where the window's own warnings go
	b       *Backend
	log     *slog.Logger

	mu             sync.Mutex
	child          *os.Process // the window being started or running
	started        time.Time
	reconnectUntil time.Time // a window of the previous keeper may reconnect until then
}

// NewWindowLauncher returns the launcher of b's window program, which it
// points at the control socket.
func NewWindowLauncher(socket string, b *Backend) *WindowLauncher {
	return &WindowLauncher{socket: socket, logFile: LogPath(b.stateDir), b: b, log: b.log}
}

// startGrace is how long a window process just started has to subscribe
// before another show starts a second one; reconnectGrace how long a
// restarted keeper waits for the window of its predecessor to reconnect.
const (
	startGrace     = 10 * time.Second
	reconnectGrace = 8 * time.Second
)

// ExpectReconnect tells w that a window of the keeper this one replaced may
// be reconnecting: shows in the next reconnectGrace wait for it.
func (w *WindowLauncher) ExpectReconnect() {
	w.mu.Lock()
	w.reconnectUntil = time.Now().Add(reconnectGrace)
	w.mu.Unlock()
}

// StopStarting ends a window process this keeper started that has not
// subscribed yet (it would not hear the keeper quit). It holds no state.
func (w *WindowLauncher) StopStarting() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.child != nil && !w.b.HasWindow() {
		w.child.Kill()
	}
}

// awaitReconnect waits (within the reconnect grace) for the window of the
// previous keeper to subscribe, and shows sh in it.
func (w *WindowLauncher) awaitReconnect(sh control.Show) bool {
	w.mu.Lock()
	until := w.reconnectUntil
	w.mu.Unlock()
	for time.Now().Before(until) {
		time.Sleep(50 * time.Millisecond)
		if w.b.ShowInWindow(sh) {
			return true
		}
	}
	return false
}

// Show brings the window forward on sh's tab, starting the window program
// when none is open.
func (w *WindowLauncher) Show(sh control.Show) error {
	if w == nil {
		return errors.New("the window is not ready yet")
	}
	if w.b.ShowInWindow(sh) || w.awaitReconnect(sh) {
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
		args = []string{"--tab", wire.TabAccounts}
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

// OpenAtStart opens the window when the keeper starts, unless the user
// asked to start minimized and there is a tray icon (trayHost) to reach it
// by; with no account yet it opens so the user can add one (or try the
// demo). A keeper started by a restart opens nothing: the open window
// reconnects by itself, and shows wait for it a while.
func (w *WindowLauncher) OpenAtStart(trayHost bool) {
	restarted := os.Getenv(EnvRestarted) != ""
	os.Unsetenv(EnvRestarted)
	if restarted {
		w.ExpectReconnect()
		return
	}
	if !trayHost || !w.b.settings.UI.StartMinimized || len(w.b.engine.Snapshot().Accounts) == 0 {
		if err := w.Show(control.Show{Tab: wire.TabAccounts}); err != nil {
			w.log.Warn("window not opened", "error", err)
		}
	}
}
