package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui/window"
)

// keeperBin is the tokentray binary the tests run as the keeper.
var keeperBin string

func TestMain(m *testing.M) {
	keeperBin = os.Getenv("TOKENTRAY_BIN")
	var tmp string
	if keeperBin == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "tokentray-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		keeperBin = filepath.Join(tmp, "tokentray")
		if out, err := exec.Command("go", "build", "-o", keeperBin, "../tokentray").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build tokentray: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// demoKeeper runs `tokentray demo --headless` (the simulator, a memory
// vault) on a private socket and returns its environment for CLI calls.
func demoKeeper(t *testing.T) (socket string, env []string) {
	t.Helper()
	return startKeeperProcess(t, nil, "demo", "--headless")
}

// startKeeperProcess runs `tokentray args...` as a keeper with a private
// socket, config and state, and waits until it answers.
func startKeeperProcess(t *testing.T, extraEnv []string, args ...string) (socket string, env []string) {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "win")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	socket = filepath.Join(sockDir, "control.sock")
	env = []string{
		"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"TOKENTRAY_LOCK_DIR=" + filepath.Join(dir, "locks"), "TOKENTRAY_CONTROL_SOCKET=" + socket,
		"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8",
	}
	env = append(env, extraEnv...)
	cmd := exec.Command(keeperBin, args...)
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("keeper output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := control.Dial(socket); err == nil {
			return socket, env
		} else if time.Now().After(deadline) {
			t.Fatalf("the demo keeper did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// texts lists every visible label and button text of the window's content.
func texts(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		switch w := o.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *widget.Button:
			out = append(out, w.Text)
		case *widget.RichText:
			out = append(out, w.String())
		}
		if c, ok := o.(*fyne.Container); ok {
			for _, k := range c.Objects {
				walk(k)
			}
		} else if w, ok := o.(fyne.Widget); ok {
			for _, k := range test.WidgetRenderer(w).Objects() {
				walk(k)
			}
		}
	}
	walk(o)
	return out
}

// button finds the first visible button labelled text.
func button(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if found != nil || !o.Visible() {
			return
		}
		if b, ok := o.(*widget.Button); ok && b.Text == text && !b.Disabled() {
			found = b
			return
		}
		if c, ok := o.(*fyne.Container); ok {
			for _, k := range c.Objects {
				walk(k)
			}
		} else if w, ok := o.(fyne.Widget); ok {
			for _, k := range test.WidgetRenderer(w).Objects() {
				walk(k)
			}
		}
	}
	walk(o)
	return found
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWindowIsAClientOfTheKeeper runs the real window code (Fyne's test
// driver) against a real keeper process over its control socket: the
// window shows the keeper's account, its Refresh now makes the keeper
// refresh, a sign-out and a sign-in made with the CLI show in the open
// window within a second, and when the keeper quits the window says so.
func TestWindowIsAClientOfTheKeeper(t *testing.T) {
	socket, env := demoKeeper(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &remote{socket: socket}
	in, err := r.info(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("info = %v", err)
	}
	if !in.Demo {
		t.Errorf("info = %+v; want the demo keeper", in)
	}
	a := test.NewTempApp(t)
	w := window.New(a, window.Options{Keeper: r, Info: window.Info{Version: in.Version, Settings: in.Settings, FileSettings: in.FileSettings, Demo: in.Demo}})
	w.Start(ctx)
	content := func() fyne.CanvasObject {
		for _, w := range a.Driver().AllWindows() {
			if c := w.Content(); c != nil && w.Title() == "tokentray" {
				return c
			}
		}
		return widget.NewLabel("")
	}
	has := func(s string) bool {
		var found bool
		fyne.DoAndWait(func() {
			for _, x := range texts(content()) {
				if strings.Contains(x, s) {
					found = true
				}
			}
		})
		return found
	}
	defer func() {
		if t.Failed() {
			fyne.DoAndWait(func() { t.Logf("window texts: %q", texts(content())) })
		}
	}()
	waitFor(t, 10*time.Second, "the demo account in the window", func() bool { return has("demo") && has("Refresh now") })

	c, err := control.Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	snap := func() state.Snapshot {
		s, err := c.Status(ctx, "")
		if err != nil {
			t.Fatalf("Snapshot = %v", err)
		}
		return s
	}
	before := snap().Counters.RefreshSuccessTotal
	tapped := false
	fyne.DoAndWait(func() {
		if b := button(content(), "Refresh now"); b != nil {
			test.Tap(b)
			tapped = true
		}
	})
	if !tapped {
		t.Fatal("no enabled Refresh now button in the window")
	}
	waitFor(t, 10*time.Second, "the keeper to refresh after the window's Refresh now", func() bool { return snap().Counters.RefreshSuccessTotal > before })

	cli := func(args ...string) {
		cmd := exec.Command(keeperBin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tokentray %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if !has("Signed in as") {
		t.Fatalf("window texts before sign-out: %q; want the signed-in identity", texts(content()))
	}
	cli("logout", "demo")
	start := time.Now()
	waitFor(t, time.Second, "the sign-out made in a terminal to show in the window", func() bool { return !has("Signed in as") })
	t.Logf("the CLI's sign-out showed in the window after %s", time.Since(start).Round(time.Millisecond))
	cli("login", "demo")
	start = time.Now()
	waitFor(t, time.Second, "the sign-in made in a terminal to show in the window", func() bool { return has("Signed in as") })
	t.Logf("the CLI's sign-in showed in the window after %s", time.Since(start).Round(time.Millisecond))

	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the window to say the keeper is not running", func() bool { return has("not running") })
}

// TestAccountAddedThroughTheWindowRestartsNothing: the calls the window
// makes to add and sign in an account (its Keeper, over the socket) take
// effect in the running keeper at once: the open window shows the account
// signed in, and the keeper's pid is the same before and after.
func TestAccountAddedThroughTheWindowRestartsNothing(t *testing.T) {
	sim := idpsim.New(idpsim.Options{AutoApproveDevice: 1, DeviceInterval: time.Second})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	socket, _ := startKeeperProcess(t, []string{"TOKENTRAY_MICROSOFT_LOGIN_BASE=" + srv.URL, "TOKENTRAY_STORAGE_BACKEND=file"}, "run", "--headless")
	c, err := control.Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Keeper.PID

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &remote{socket: socket}
	in, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := test.NewTempApp(t)
	w := window.New(a, window.Options{Keeper: r, Info: in})
	w.Start(ctx)
	has := func(s string) bool {
		var found bool
		fyne.DoAndWait(func() {
			for _, win := range a.Driver().AllWindows() {
				if win.Title() != "tokentray" || win.Content() == nil {
					continue
				}
				for _, x := range texts(win.Content()) {
					found = found || strings.Contains(x, s)
				}
			}
		})
		return found
	}
	if err := r.AddAccount(ctx, config.Account{Name: "fresh", Provider: "microsoft", ClientID: "c1900000-0000-4000-8000-000000000009"}); err != nil {
		t.Fatalf("AddAccount = %v", err)
	}
	waitFor(t, time.Second, "the added account in the open window", func() bool { return has("fresh") })
	if err := r.SignIn(ctx, "fresh", true, func(code, url string) {}); err != nil {
		t.Fatalf("SignIn (device) = %v", err)
	}
	waitFor(t, time.Second, "the signed-in account in the open window", func() bool { return has("Signed in as") })
	after, err := control.Dial(socket)
	if err != nil || after.Keeper.PID != pid {
		t.Errorf("keeper pid after adding and signing in: %v (err %v); want the same keeper, pid %d", after, err, pid)
	}
}
