//go:build !windows && !darwin

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyFollowsSetting: Apply(true) writes the entry for this program
// when there is none and leaves an existing one alone; Apply(false)
// removes it.
func TestApplyFollowsSetting(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	if e, err := LoginEntry(); err != nil || e.Exe != exe || len(e.Args) != 0 {
		t.Errorf("LoginEntry() = %+v, %v; want this program (%s) without arguments", e, err, exe)
	}
	if err := Apply(false); err != nil {
		t.Errorf("Apply(false) with no entry = %v; want nil", err)
	}
	if err := Apply(true); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "autostart", "tokentray.desktop")
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), "Exec="+exe) {
		t.Fatalf("entry after Apply(true): %q, %v; want Exec=%s", b, err, exe)
	}
	mine := Entry{Exe: "/opt/other/tokentray", Args: []string{"--set", "ui.start_minimized=true"}}
	if err := Enable(mine); err != nil {
		t.Fatal(err)
	}
	if err := Apply(true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !strings.Contains(string(b), "Exec=/opt/other/tokentray --set") {
		t.Errorf("Apply(true) rewrote an existing entry:\n%s", b)
	}
	if err := Apply(false); err != nil {
		t.Fatal(err)
	}
	if st, err := Current(); err != nil || st.Enabled {
		t.Errorf("Current() after Apply(false) = %+v, %v; want off", st, err)
	}
}
