//go:build linux

package main

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// notifications is a fake org.freedesktop.Notifications that keeps every
// notification's body.
type notifications struct {
	mu     sync.Mutex
	bodies []string
}

func (n *notifications) Notify(_ string, _ uint32, _, _, body string, _ []string, _ map[string]dbus.Variant, _ int32) (uint32, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.bodies = append(n.bodies, body)
	return uint32(len(n.bodies)), nil
}

func (n *notifications) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.bodies...)
}

// TestKeeperRadarNotification: the keeper with its tray (a fake tray host
// and notification server on a private session bus) announces an account's
// coming sign-in once it is within radar.notify_days: here 8 h after a new
// sign-in under a sign-in frequency policy the keeper learned from
// AADSTS70043. Run inside dbus-run-session (.ci/test.sh does).
func TestKeeperRadarNotification(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("needs a private session bus: dbus-run-session -- go test -run TestKeeperRadarNotification ./cmd/tokentray")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	defer conn.Close()
	notes := &notifications{}
	if err := conn.Export(notes, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Skipf("org.freedesktop.Notifications is taken on this bus (a real desktop?): %v", err)
	}
	startWatcher(t)

	clk := &shiftedClock{}
	sim, _, base := startSim(t, idpsim.Options{SignInFrequency: 8 * time.Hour, Clock: clk.now})
	c := newFileAccountCLI(t, base, "work")
	c.env = append(c.env, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "TOKENTRAY_WINDOW_BIN=/bin/false")
	c.must("", "config", "set", "ui.start_minimized", "true")
	keeper := startProcess(t, c.env)
	waitFor(t, 15*time.Second, "the keeper to answer status", func() bool {
		return strings.Contains(c.run("", "status").stdout, "from running tokentray")
	})

	clk.set(-7 * time.Hour)
	rt := sim.Grant(testClientID, "hal@contoso.test", []string{"openid", "profile", "offline_access"})
	clk.set(0)
	c.must(rt+"\n", "import", "work", "--refresh-token-stdin")
	clk.set(2 * time.Hour)
	if r := c.run("", "refresh", "work"); r.code != 3 {
		t.Fatalf("refresh past the sign-in frequency: exit %d, stderr %q; want 3", r.code, r.stderr)
	}
	clk.set(0)
	c.must(sim.Grant(testClientID, "hal@contoso.test", []string{"openid", "profile", "offline_access"})+"\n", "import", "work", "--refresh-token-stdin")

	radarNote := func() int {
		n := 0
		for _, b := range notes.all() {
			if strings.HasPrefix(b, "work: sign-in needed by ") && strings.Contains(b, "sign-in frequency policy") {
				n++
			}
		}
		return n
	}
	waitFor(t, 10*time.Second, "the radar notification", func() bool { return radarNote() > 0 })
	c.must("", "refresh", "work") // a new snapshot, the same date: no second note
	c.must("", "status")
	if n := radarNote(); n != 1 {
		t.Errorf("%d radar notifications for one sign-in date; want 1: %q", n, notes.all())
	}
	keeper.kill()
	c.output.WriteString(keeper.logs.String())
	c.assertNoSecrets(sim, "tokens.json")
}
