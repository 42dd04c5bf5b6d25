//go:build !windows && !darwin

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnableDisableXDG(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if st, err := Current(); err != nil || st.Enabled {
		t.Fatalf("Current() before enable = %+v, %v; want disabled", st, err)
	}
	e := Entry{Exe: "/opt/token tray/tokentray", Args: []string{"--set", "ui.start_minimized=true"}}
	if err := Enable(e); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "autostart", "tokentray.desktop")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[Desktop Entry]", `Exec="/opt/token tray/tokentray" --set ui.start_minimized=true`, "Type=Application"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("desktop entry lacks %q:\n%s", want, b)
		}
	}
	st, err := Current()
	if err != nil || !st.Enabled || st.Where != p {
		t.Errorf("Current() = %+v, %v; want enabled at %s", st, err, p)
	}
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if err := Disable(); err != nil {
		t.Errorf("second Disable() = %v; want nil", err)
	}
	if st, _ := Current(); st.Enabled {
		t.Error("still enabled after Disable")
	}
}

func TestEnableRefusesRelativePath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := Enable(Entry{Exe: "tokentray"}); err == nil {
		t.Error("Enable(relative) = nil; want error")
	}
}

func TestLaunchAgentEscapes(t *testing.T) {
	s := launchAgent(Entry{Exe: "/Applications/a&b.app/tokentray"})
	if !strings.Contains(s, "<string>/Applications/a&amp;b.app/tokentray</string>") || !strings.Contains(s, "<key>RunAtLoad</key>") {
		t.Errorf("launchAgent = %s", s)
	}
}
