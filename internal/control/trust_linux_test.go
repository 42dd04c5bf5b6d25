package control

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/control/sockpath"
	"github.com/tokentray/tokentray/internal/wire"
)

// nobodyUID is the uid the foreign listener runs as (Debian's nobody).
const nobodyUID = 65534

// foreignListener is a stand-in keeper run as another user: it answers
// every request with a token and reports the bytes it received per
// connection ("got N" lines, in order) on lines.
type foreignListener struct {
	lines chan string
}

// startForeignListener runs testdata/foreign_listener.py as nobody
// (setpriv) on a socket at dir/control.sock, with dir first owned by
// nobody so it can bind there, then handed back to this user as 0700: the
// directory passes the client's checks, the server does not. It fails (not
// skips) where it cannot run: setpriv (util-linux) and root are required.
func startForeignListener(t *testing.T, path string) *foreignListener {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to run a listener as another user: %v", err)
	}
	if os.Getuid() != 0 {
		t.Fatalf("running a listener as another user (setpriv --reuid=nobody) needs root; uid is %d", os.Getuid())
	}
	script, err := filepath.Abs("testdata/foreign_listener.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// nobody must reach dir (its parent is a 0700 temp dir) and bind in it.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", script, path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the foreign listener: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("foreign listener did not start: %q %v", sc.Text(), sc.Err())
	}
	f := &foreignListener{lines: make(chan string, 64)}
	go func() { // ends when the listener is killed at cleanup
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
	}()
	if err := os.Chown(dir, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantNothingSent connects to path once more as a probe that sends 5
// bytes: the listener reports connections in order, so every report before
// "got 5" is one of the test's, and each must be "got 0".
func wantNothingSent(t *testing.T, f *foreignListener, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("probe"))
	c.Close()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case g, ok := <-f.lines:
			switch {
			case !ok:
				t.Fatal("foreign listener ended before reporting the probe")
			case g == "got 5":
				return
			case g != "got 0":
				t.Errorf("foreign listener %s bytes on a connection; want got 0 (nothing sent)", g)
			}
		case <-timeout.C:
			t.Fatal("foreign listener did not report the probe within 10 s")
		}
	}
}

// TestClientRefusesAnotherUsersServer: a keeper of another user at the
// socket path (the /tmp fallback taken first) gets no request and no
// secret, and the client says which path and which owner.
func TestClientRefusesAnotherUsersServer(t *testing.T) {
	path := sockPath(t)
	f := startForeignListener(t, path)

	_, err := Dial(path)
	wantForeign(t, "Dial", err, path, "served by uid 65534")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = NewClient(path).Do(ctx, wire.Request{Op: wire.OpImport, Account: "work", Secret: "refresh-token-secret"})
	wantForeign(t, "Do(import)", err, path, "served by uid 65534")
	if err != nil && strings.Contains(err.Error(), "refresh-token-secret") {
		t.Errorf("error %v holds the secret", err)
	}
	wantNothingSent(t, f, path)
}

func wantForeign(t *testing.T, what string, err error, path, owner string) {
	t.Helper()
	if !errors.Is(err, sockpath.ErrForeign) || errors.Is(err, ErrNotRunning) {
		t.Errorf("%s to another user's socket = %v; want an error wrapping ErrForeign, not ErrNotRunning", what, err)
		return
	}
	if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), filepath.Dir(path)) || !strings.Contains(err.Error(), owner) {
		t.Errorf("%s = %v; want the path %s and %q named", what, err, path, owner)
	}
}

// TestClientRefusesUntrustedDirectory: a socket served by this user but in a
// directory another user owns, others may write, or reached through a
// symlink gets no byte either.
func TestClientRefusesUntrustedDirectory(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the path to dial
		want    string
	}{
		{"owned by another user", func(t *testing.T, dir string) string {
			if err := os.Chown(dir, nobodyUID, nobodyUID); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "control.sock")
		}, "owned by uid 65534"},
		{"group writable", func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "control.sock")
		}, "writable by others (mode 0770)"},
		{"world writable", func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "control.sock")
		}, "writable by others (mode 0777)"},
		{"symlink", func(t *testing.T, dir string) string {
			link := filepath.Join(filepath.Dir(dir), "link")
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "control.sock")
		}, "is a symlink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if os.Getuid() != 0 && tt.name == "owned by another user" {
				t.Fatalf("chown to another user needs root; uid is %d", os.Getuid())
			}
			sock := sockPath(t)
			dir := filepath.Dir(sock)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var mu sync.Mutex
			var got []int
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.SetDeadline(time.Now().Add(5 * time.Second))
					b, _ := io.ReadAll(c)
					c.Close()
					mu.Lock()
					got = append(got, len(b))
					mu.Unlock()
				}
			}()
			path := tt.prepare(t, dir)

			_, err = Dial(path)
			wantForeign(t, "Dial", err, path, tt.want)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = NewClient(path).Do(ctx, wire.Request{Op: wire.OpImport, Account: "work", Secret: "refresh-token-secret"})
			wantForeign(t, "Do(import)", err, path, tt.want)

			ln.Close()
			<-done
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 0 {
				t.Errorf("listener saw connections sending %v bytes; want no connection", got)
			}
		})
	}
}
