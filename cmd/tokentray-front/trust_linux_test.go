package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFrontRefusesAnotherUsersKeeper: with another user's stand-in keeper
// (internal/control/testdata/foreign_listener.py run as nobody) at the
// socket path, `tokentray token` through the front prints no token, says
// which path and owner, and the listener receives nothing. It fails (not
// skips) without setpriv or root.
func TestFrontRefusesAnotherUsersKeeper(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to run a listener as another user: %v", err)
	}
	if os.Getuid() != 0 {
		t.Fatalf("running a listener as another user (setpriv --reuid=nobody) needs root; uid is %d", os.Getuid())
	}
	script, err := filepath.Abs("../../internal/control/testdata/foreign_listener.py")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "tokentray")
	path := filepath.Join(dir, "control.sock")
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil { // nobody binds there
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", script, path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("foreign listener did not start: %q %v", sc.Text(), sc.Err())
	}
	// Back to this user, 0700: the directory passes, the server does not.
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}

	h := newHome(t)
	r := h.run(t, front, []string{"TOKENTRAY_CONTROL_SOCKET=" + path}, "token", "work")
	if r.code == 0 || strings.Contains(r.stdout+r.stderr, "foreign-token") {
		t.Errorf("front token with another user's keeper = %+v; want a failure and no token", r)
	}
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "uid 65534") {
		t.Errorf("front token stderr = %q; want the path %s and uid 65534 named", r.stderr, path)
	}

	// A probe that sends 5 bytes: the listener reports connections in
	// order, so every report before "got 5" is one of the runs above.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("probe"))
	c.Close()
	done := make(chan []string, 1)
	go func() {
		var got []string
		for sc.Scan() && sc.Text() != "got 5" {
			got = append(got, sc.Text())
		}
		done <- got
	}()
	select {
	case got := <-done:
		if len(got) == 0 {
			t.Error("foreign listener saw no connection before the probe; want the front's (and the full program's), sending nothing")
		}
		for _, g := range got {
			if g != "got 0" {
				t.Errorf("foreign listener %s bytes; want got 0 on every connection", g)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("foreign listener did not report the probe connection within 10 s")
	}
}
