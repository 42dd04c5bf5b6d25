//go:build !darwin && !windows

package ui

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

// notificationServer is a fake org.freedesktop.Notifications that keeps
// every Notify call.
type notificationServer struct {
	mu    sync.Mutex
	calls []notifyCall
}

type notifyCall struct{ App, Summary, Body string }

func (s *notificationServer) Notify(app string, _ uint32, _, summary, body string, _ []string, _ map[string]dbus.Variant, _ int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, notifyCall{app, summary, body})
	return uint32(len(s.calls)), nil
}

// Run inside a private bus: dbus-run-session -- go test -run Notify ./ui/
func TestNotifyOverDBus(t *testing.T) {
	addr, err := sessionBusAddress(os.Getenv, fileExists)
	if err != nil {
		t.Skipf("no session bus (run under dbus-run-session): %v", err)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Skipf("session bus unreachable: %v", err)
	}
	defer conn.Close()
	srv := &notificationServer{}
	if err := conn.Export(srv, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Skipf("org.freedesktop.Notifications is taken on this bus (a real desktop?): %v", err)
	}

	note := Note{Title: "tokentray", Body: "work needs sign-in <now> & then"}
	if err := (Notifier{}).Send(note); err != nil {
		t.Fatalf("Send(%v) = %v", note, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	want := []notifyCall{{App: "tokentray", Summary: "tokentray", Body: "work needs sign-in &lt;now&gt; &amp; then"}}
	if diff := cmp.Diff(want, srv.calls); diff != "" {
		t.Errorf("Notify calls (-want +got):\n%s", diff)
	}
}

// Without a session bus Send fails; it never starts one.
func TestNotifyNoBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if err := (Notifier{}).Send(Note{Title: "t", Body: "b"}); err == nil {
		t.Errorf("Send with no session bus = nil; want an error")
	}
}

func TestSessionBusAddress(t *testing.T) {
	run := filepath.Join("/run/user/1000")
	for _, tc := range []struct {
		name     string
		env      map[string]string
		exists   bool
		want     string
		wantFail bool
	}{
		{"env", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/b", "XDG_RUNTIME_DIR": run}, true, "unix:path=/tmp/b", false},
		{"runtime dir", map[string]string{"XDG_RUNTIME_DIR": run}, true, "unix:path=/run/user/1000/bus", false},
		{"runtime dir without bus", map[string]string{"XDG_RUNTIME_DIR": run}, false, "", true},
		{"nothing", nil, true, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sessionBusAddress(func(k string) string { return tc.env[k] }, func(string) bool { return tc.exists })
			if got != tc.want || (err != nil) != tc.wantFail {
				t.Errorf("sessionBusAddress = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantFail)
			}
		})
	}
}
