package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokentray/tokentray/internal/control"
)

// requireGUI skips (locally) or fails (on CI) unless a display and a private
// session bus are there: make test runs these under xvfb-run + dbus-run-session.
func requireGUI(t *testing.T) {
	t.Helper()
	missing := []string{}
	if os.Getenv("TOKENTRAY_GUI_TEST") != "1" {
		missing = append(missing, "TOKENTRAY_GUI_TEST=1")
	}
	if os.Getenv("DISPLAY") == "" {
		missing = append(missing, "DISPLAY")
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		missing = append(missing, "DBUS_SESSION_BUS_ADDRESS")
	}
	for _, tool := range []string{"xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("GUI test needs %s; run it with make test (xvfb-run + dbus-run-session)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or d passes. The processes under test
// are real, so there is no clock to fake.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// menuItem is one node of a com.canonical.dbusmenu layout.
type menuItem struct {
	ID       int32
	Label    string
	Children []menuItem
}

func (m menuItem) find(label string) (menuItem, bool) {
	if m.Label == label {
		return m, true
	}
	for _, c := range m.Children {
		if f, ok := c.find(label); ok {
			return f, true
		}
	}
	return menuItem{}, false
}

func (m menuItem) labels() []string {
	var out []string
	if m.Label != "" {
		out = append(out, m.Label)
	}
	for _, c := range m.Children {
		out = append(out, c.labels()...)
	}
	return out
}

func parseLayout(v []any) menuItem {
	var m menuItem
	if len(v) < 3 {
		return m
	}
	m.ID, _ = v[0].(int32)
	if props, ok := v[1].(map[string]dbus.Variant); ok {
		if l, ok := props["label"]; ok {
			m.Label, _ = l.Value().(string)
		}
	}
	if kids, ok := v[2].([]dbus.Variant); ok {
		for _, k := range kids {
			if kv, ok := k.Value().([]any); ok {
				m.Children = append(m.Children, parseLayout(kv))
			}
		}
	}
	return m
}

type trayMenu struct {
	obj dbus.BusObject
}

func (tm trayMenu) layout(t *testing.T) (uint32, menuItem) {
	t.Helper()
	var rev uint32
	var raw []any
	call := tm.obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{"label"})
	if call.Err != nil {
		t.Fatalf("GetLayout: %v", call.Err)
	}
	if err := call.Store(&rev, &raw); err != nil {
		t.Fatalf("GetLayout reply: %v", err)
	}
	return rev, parseLayout(raw)
}

func (tm trayMenu) click(t *testing.T, id int32) {
	t.Helper()
	call := tm.obj.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(int32(0)), uint32(0))
	if call.Err != nil {
		t.Fatalf("Event(%d, clicked): %v", id, call.Err)
	}
}

// findTray finds the StatusNotifierItem of process pid on the session bus.
func findTray(t *testing.T, conn *dbus.Conn, pid int) trayMenu {
	t.Helper()
	prefix := fmt.Sprintf("org.kde.StatusNotifierItem-%d-", pid)
	var name string
	waitFor(t, 20*time.Second, "the StatusNotifierItem on D-Bus", func() bool {
		var names []string
		if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
			return false
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				name = n
				return true
			}
		}
		return false
	})
	return trayMenu{obj: conn.Object(name, "/StatusNotifierMenu")}
}

func artifactsDir(t *testing.T) string {
	if d := os.Getenv("TOKENTRAY_ARTIFACTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

func countRefreshes(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "msg=refresh") && strings.Contains(line, "result=ok") {
			n++
		}
	}
	return n
}

// windowsOf lists the visible X11 windows named tokentray with the pid of
// the process that owns each.
func windowsOf(t *testing.T) map[string]int {
	t.Helper()
	out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^tokentray$").Output()
	ws := map[string]int{}
	for _, id := range strings.Fields(string(out)) {
		pidOut, err := exec.Command("xdotool", "getwindowpid", id).Output()
		if err != nil {
			continue
		}
		var pid int
		fmt.Sscan(string(pidOut), &pid)
		ws[id] = pid
	}
	return ws
}

// wmClose builds testdata/wmclose.c and returns a function that asks a
// window to close as a window manager's close button does.
func wmClose(t *testing.T) func(id string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wmclose")
	if out, err := exec.Command("gcc", "-o", bin, "testdata/wmclose.c", "-lX11").CombinedOutput(); err != nil {
		t.Fatalf("build wmclose: %v\n%s", err, out)
	}
	return func(id string) {
		if out, err := exec.Command(bin, id).CombinedOutput(); err != nil {
			t.Fatalf("wmclose %s: %v %s", id, err, out)
		}
	}
}

// TestE2EKeeperTrayAndWindow starts the keeper (`tokentray demo`) under Xvfb
// and a private D-Bus session. The keeper opens the window, a separate
// process (screenshot saved); its tray menu, read and clicked over
// com.canonical.dbusmenu, refreshes with "Refresh now"; closing the window
// ends the window process while the keeper stays; "Open tokentray" maps a
// new window; a second launch opens it again instead of starting a second
// keeper; "Quit" ends both, the keeper with exit 0.
func TestE2EKeeperTrayAndWindow(t *testing.T) {
	requireGUI(t)
	if os.Getenv("TOKENTRAY_WINDOW_BIN") == "" {
		t.Fatal("TOKENTRAY_WINDOW_BIN must name the built tokentray-window (make test sets it)")
	}
	closeWindow := wmClose(t)
	c := newCLI(t)
	env := append(c.env, "DISPLAY="+os.Getenv("DISPLAY"), "XAUTHORITY="+os.Getenv("XAUTHORITY"),
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "TOKENTRAY_WINDOW_BIN="+os.Getenv("TOKENTRAY_WINDOW_BIN"))
	p := startProcess(t, env, "demo")
	stderr := &p.logs
	keeper := p.cmd.Process.Pid

	var winID string
	var winPID int
	waitFor(t, 30*time.Second, "the window to appear", func() bool {
		for id, pid := range windowsOf(t) {
			winID, winPID = id, pid
			return true
		}
		return false
	})
	if winPID == keeper || winPID == 0 {
		t.Fatalf("window pid %d; want a window process other than the keeper (pid %d)", winPID, keeper)
	}
	waitFor(t, 10*time.Second, "the demo's first refresh", func() bool { return countRefreshes(stderr.String()) >= 1 })
	shot := filepath.Join(artifactsDir(t), "e2e-window.png")
	time.Sleep(time.Second) // let the window render its first snapshot before the screenshot
	if out, err := exec.Command("import", "-window", "root", shot).CombinedOutput(); err != nil {
		t.Errorf("screenshot: %v %s", err, out)
	} else {
		t.Logf("screenshot saved: %s", shot)
	}

	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	defer conn.Close()
	menu := findTray(t, conn, keeper)
	var root menuItem
	var rev0 uint32
	waitFor(t, 10*time.Second, "a menu with Refresh now, Open tokentray and Quit", func() bool {
		rev0, root = menu.layout(t)
		_, a := root.find("Refresh now")
		_, b := root.find("Quit")
		_, o := root.find("Open tokentray")
		return a && b && o
	})
	labels := root.labels()
	t.Logf("tray menu (revision %d): %q", rev0, labels)
	status := ""
	for _, l := range labels {
		if strings.HasPrefix(l, "demo") {
			status = l
		}
	}
	if status == "" {
		t.Errorf("no status line for the demo account in %q", labels)
	}
	os.WriteFile(filepath.Join(artifactsDir(t), "e2e-tray-menu.txt"), []byte(strings.Join(labels, "\n")+"\n"), 0o644)

	// The status line shows HH:MM; wait for the minute of the first refresh
	// to pass so the line must change when Refresh now refreshes.
	if m := regexp.MustCompile(`refreshed (\d\d:\d\d)`).FindStringSubmatch(status); m != nil {
		waitFor(t, 65*time.Second, "the minute to change", func() bool { return time.Now().Format("15:04") != m[1] })
	}
	before := countRefreshes(stderr.String())
	item, _ := root.find("Refresh now")
	menu.click(t, item.ID)
	waitFor(t, 15*time.Second, "the refresh that Refresh now asked for", func() bool { return countRefreshes(stderr.String()) > before })
	waitFor(t, 10*time.Second, "the menu to be rebuilt after the refresh", func() bool {
		rev, r := menu.layout(t)
		if rev == rev0 {
			return false
		}
		for _, l := range r.labels() {
			if strings.HasPrefix(l, "demo — refreshed") && l != status {
				t.Logf("status line: %q → %q", status, l)
				return true
			}
		}
		return false
	})

	// Closing the window ends the window process; the keeper stays.
	closeWindow(winID)
	waitFor(t, 10*time.Second, "the window process to exit after its window was closed", func() bool { return !processAlive(winPID) })
	if r := c.run("", "status"); r.code != 0 || !strings.Contains(r.stdout, "from running tokentray") {
		t.Fatalf("keeper after the window closed: status exit %d %s %s; want it running", r.code, r.stdout, r.stderr)
	}

	// "Open tokentray" maps a new window. Menu ids change when the menu is
	// rebuilt (a refresh may land between reading and clicking), so a click
	// that found no item is retried with a fresh layout.
	opened := func() bool {
		for id, pid := range windowsOf(t) {
			winID, winPID = id, pid
			return pid != keeper
		}
		return false
	}
	for try := 1; ; try++ {
		_, root = menu.layout(t)
		open, _ := root.find("Open tokentray")
		menu.click(t, open.ID)
		deadline := time.Now().Add(5 * time.Second)
		for !opened() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if opened() {
			break
		}
		if try == 3 {
			t.Fatal("no window after clicking Open tokentray three times")
		}
		t.Logf("no window 5 s after Open tokentray (try %d); clicking again with a fresh layout", try)
	}
	// It is a client once it has subscribed (a window maps before that).
	waitFor(t, 20*time.Second, "the new window to connect to the keeper", func() bool {
		return strings.Count(stderr.String(), "window connected") >= 2
	})

	// A second launch asks this keeper to bring its window forward and
	// exits 0; it starts no second window.
	second := exec.Command(binPath)
	second.Env = env
	out, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already running") {
		t.Errorf("second launch: %v, output %q; want exit 0 and a hand-over", err, out)
	}
	if n := len(windowsOf(t)); n != 1 {
		t.Errorf("%d windows after a second launch; want the one already open", n)
	}

	_, root = menu.layout(t)
	quit, _ := root.find("Quit")
	menu.click(t, quit.ID)
	if exited, ok := p.waitExit(5 * time.Second); !exited {
		t.Error("the keeper still runs 5 s after Quit")
	} else if !ok {
		t.Errorf("the keeper exited with %v after Quit; want exit 0", p.cmd.ProcessState)
	}
	waitFor(t, 5*time.Second, "the window to close when the keeper quit", func() bool { return !processAlive(winPID) })
}

// killPID kills process pid if it runs (cleanup of processes the keeper
// started).
func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil && pid > 0 {
		p.Kill()
	}
}

// TestE2EFirstRunTryTheDemo: the keeper with no account opens the window;
// "Try the demo account" (a restart of the keeper into the demo, as the
// window asks for it) replaces the keeper while the same window stays and
// reconnects: a second launch brings that window forward instead of
// starting another.
func TestE2EFirstRunTryTheDemo(t *testing.T) {
	requireGUI(t)
	c := newCLI(t)
	env := append(c.env, "DISPLAY="+os.Getenv("DISPLAY"), "XAUTHORITY="+os.Getenv("XAUTHORITY"),
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "TOKENTRAY_WINDOW_BIN="+os.Getenv("TOKENTRAY_WINDOW_BIN"))
	p := startProcess(t, env, "--set", "storage.backend=file")
	t.Cleanup(func() {
		if t.Failed() { // the keepers' log, the restarted one's included
			b, _ := os.ReadFile(filepath.Join(c.dir, "state", "tokentray", "tokentray.log"))
			t.Logf("tokentray.log:\n%s", b)
		}
	})
	var winPID int
	waitFor(t, 30*time.Second, "the first-run window", func() bool {
		for _, pid := range windowsOf(t) {
			winPID = pid
			return true
		}
		return false
	})
	t.Cleanup(func() { killPID(winPID) })
	kc, err := control.Dial(filepath.Join(c.dir, "run", "tokentray", "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.Restart(t.Context(), true); err != nil {
		t.Fatalf("restart into the demo: %v", err)
	}
	if exited, ok := p.waitExit(10 * time.Second); !exited || !ok {
		t.Fatalf("the first keeper did not exit 0 on restart (exited %v)", exited)
	}
	var demoPID int
	waitFor(t, 15*time.Second, "the demo keeper", func() bool {
		r := c.run("", "status", "--json")
		if r.code != 0 || !regexp.MustCompile(`"name":\s*"demo"`).MatchString(r.stdout) {
			return false
		}
		d, err := control.Dial(filepath.Join(c.dir, "run", "tokentray", "control.sock"))
		if err == nil {
			demoPID = d.Keeper.PID
		}
		return err == nil
	})
	t.Cleanup(func() { killPID(demoPID) })
	if !processAlive(winPID) {
		t.Fatal("the window closed when the keeper restarted; want it to stay and reconnect")
	}
	// The window has reconnected once a second launch brings it forward.
	waitFor(t, 15*time.Second, "the window to reconnect to the demo keeper", func() bool {
		second := exec.Command(binPath)
		second.Env = env
		second.Run()
		return len(windowsOf(t)) == 1
	})
	if ws := windowsOf(t); len(ws) != 1 {
		t.Errorf("%d windows after the restart and a second launch; want the one window", len(ws))
	}
	if r := c.run("", "quit"); r.code != 0 {
		t.Fatalf("quit: exit %d: %s", r.code, r.stderr)
	}
	waitFor(t, 10*time.Second, "the demo keeper to exit on quit", func() bool { return !processAlive(demoPID) })
	waitFor(t, 10*time.Second, "the window to close on quit", func() bool { return !processAlive(winPID) })
}
