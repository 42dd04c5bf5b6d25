package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/ui"
)

type trayOptions struct {
	demo bool
}

// runTray starts the tray app with the settings read once at start. A
// second launch hands over to the running instance and exits 0.
func runTray(cmd *cobra.Command, g *globals, o trayOptions) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	l, err := loadSettings(g, !o.demo)
	if err != nil {
		return err
	}

	a := app.NewWithID("io.github.tokentray")
	var u *ui.UI
	var quitOnce sync.Once
	quit := func() { quitOnce.Do(func() { cancel(); fyne.Do(a.Quit) }) }
	h := newLateHandler(hooks{
		show: func() error {
			if u == nil {
				return errors.New("the window is not ready yet")
			}
			fyne.Do(func() {
				for _, w := range a.Driver().AllWindows() {
					w.Show()
					w.RequestFocus()
				}
			})
			return nil
		},
		quit: quit,
	})
	srv, err := claimInstance(h)
	if errors.Is(err, errHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running; its window was brought forward")
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
	errc := make(chan error, 1)
	go func() { errc <- serveCore(ctx, c, srv, h) }()

	// reexec replaces this instance with `tokentray args...`: the control
	// socket is released first so the new process can claim it.
	reexec := func(args ...string) {
		srv.Close()
		exe, err := os.Executable()
		if err == nil {
			p := exec.Command(exe, args...)
			p.Stdout, p.Stderr = os.Stdout, os.Stderr
			err = p.Start()
		}
		if err != nil {
			c.log.Error("restart failed", "error", err)
		}
		quit()
	}
	opts := ui.Options{
		Engine:     c.engine,
		Settings:   c.settings,
		ConfigPath: l.Path,
		Logger:     c.log,
		NoTrayHost: !trayHostPresent(),
		StorageProblem: func() string {
			if c.probe.Err == nil {
				return ""
			}
			return c.probe.Err.Error()
		}(),
		OnQuit:     quit,
		OnRestart:  func() { reexec(os.Args[1:]...) },
		AddAccount: func(acct config.Account) error { return addAccountToFile(l.Path, acct) },
		RemoveAccount: func(name string) error {
			if err := removeAccount(ctx, c, name); err != nil {
				return err
			}
			time.AfterFunc(time.Second, func() { reexec(os.Args[1:]...) }) // the engine forgets it on restart
			return nil
		},
		SignIn: signInFunc(c, o.demo, func() { reexec(os.Args[1:]...) }),
	}
	if o.demo {
		// The demo's engine runs on demo timings; the settings tab shows
		// the user's real settings, read-only (nothing is saved in a demo).
		opts.Settings, opts.ConfigPath = l.Settings, ""
		opts.AddAccount, opts.RemoveAccount = nil, nil
	} else {
		opts.OnDemo = func() error { reexec("demo"); return nil }
	}
	u = ui.New(a, opts)
	u.Start(ctx)
	a.Run()
	cancel()
	if err := <-errc; err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}
