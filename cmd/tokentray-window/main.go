// Command tokentray-window is tokentray's window: account status, sign-in,
// accounts and settings. It is a pure client of the running keeper
// (`tokentray`), started by it on "Open tokentray", and holds no tokens,
// vault or OAuth code: everything it shows comes from the keeper's snapshot
// stream and everything it does is a keeper call the CLI can make too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/tokentray/tokentray/internal/control"
	_ "github.com/tokentray/tokentray/internal/quietlocale" // before Fyne initialises
	"github.com/tokentray/tokentray/internal/wire"
	"github.com/tokentray/tokentray/ui/window"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	control.Version = version
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tokentray-window: "+err.Error())
		os.Exit(exitCode(err))
	}
}

// usageError is a bad flag or argument (exit 2).
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func run(args []string) error {
	fs := flag.NewFlagSet("tokentray-window", flag.ContinueOnError)
	tab := fs.String("tab", wire.TabAccounts, "tab to open: accounts, settings or signin")
	account := fs.String("account", "", "account to sign in (with --tab signin)")
	keeperOnly := fs.Bool("start-keeper", false, "start the tokentray keeper without a console window and exit (Windows login entry)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *keeperOnly {
		return startKeeper(false)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q; see tokentray-window -h", fs.Arg(0))}
	}
	switch *tab {
	case wire.TabAccounts, wire.TabSettings:
	case wire.TabSignIn:
		if *account == "" {
			return usageError{errors.New("--tab signin needs --account NAME")}
		}
	default:
		return usageError{fmt.Errorf("--tab %q: allowed: accounts, settings, signin", *tab)}
	}
	socket := os.Getenv("TOKENTRAY_CONTROL_SOCKET")
	if socket == "" {
		p, err := control.DefaultPath()
		if err != nil {
			return err
		}
		socket = p
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var w *window.Window
	shown := make(chan struct{})
	var a fyne.App
	r := &remote{socket: socket, onShow: func(sh control.Show) {
		<-shown
		if sh.Close { // the keeper quits: so does its window
			fyne.Do(a.Quit)
			return
		}
		showTab(w, sh)
	}}
	in, err := r.info(ctx, 5*time.Second)
	if err != nil {
		log.Warn("the keeper does not answer; the window offers to start it", "error", err)
	}
	a = app.NewWithID("io.github.tokentray.window")
	w = window.New(a, window.Options{
		Keeper:      r,
		Info:        windowInfo(in, err == nil),
		StartKeeper: func() error { return startKeeper(true) },
		Logger:      log,
	})
	w.Start(ctx)
	showTab(w, control.Show{Tab: *tab, Account: *account})
	close(shown)
	a.Run()
	return nil
}

// showTab brings the window forward on sh's tab.
func showTab(w *window.Window, sh control.Show) {
	switch sh.Tab {
	case wire.TabSettings:
		w.Show(window.TabSettings)
	case wire.TabSignIn:
		w.ShowSignIn(sh.Account)
	default:
		w.Show(window.TabAccounts)
	}
}

// startKeeper starts the keeper (`tokentray` beside this program, or on
// PATH), detached and without a console window; windowOpen tells it that
// this window is open already and reconnects by itself.
func startKeeper(windowOpen bool) error {
	name := "tokentray"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	exe := ""
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), name); fileExists(p) {
			exe = p
		}
	}
	if exe == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("tokentray is not installed beside the window or on PATH: %w", err)
		}
		exe = p
	}
	cmd := exec.Command(exe)
	if windowOpen {
		cmd.Env = append(os.Environ(), "TOKENTRAY_RESTARTED=1")
	}
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	return cmd.Process.Release()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
