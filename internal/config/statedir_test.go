package config

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestStateDirIgnoresXDGCacheHome: setting XDG_CACHE_HOME, even to its own
// default, must not move the state directory (it used to move it from
// ~/.local/state/tokentray to ~/.cache/tokentray).
func TestStateDirIgnoresXDGCacheHome(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the XDG rule applies to Linux and the BSDs")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "")
	want := filepath.Join(home, ".local", "state", "tokentray")
	for _, cache := range []string{"", filepath.Join(home, ".cache"), "/elsewhere/cache"} {
		t.Setenv("XDG_CACHE_HOME", cache)
		got, err := StateDir()
		if err != nil || got != want {
			t.Errorf("StateDir() with XDG_CACHE_HOME=%q = %q, %v; want %q", cache, got, err, want)
		}
	}
}

func TestStateDirRule(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	cache := func() (string, error) { return "/cache/u", nil }
	for _, tc := range []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", nil, "/home/u/.local/state/tokentray"},
		{"linux", map[string]string{"XDG_STATE_HOME": "/st"}, "/st/tokentray"},
		{"linux", map[string]string{"XDG_STATE_HOME": "relative"}, "/home/u/.local/state/tokentray"},
		{"linux", map[string]string{"XDG_CACHE_HOME": "/home/u/.cache"}, "/home/u/.local/state/tokentray"},
		{"freebsd", map[string]string{"XDG_CACHE_HOME": "/c"}, "/home/u/.local/state/tokentray"},
		{"darwin", map[string]string{"XDG_STATE_HOME": "/st"}, "/cache/u/tokentray"},
		{"windows", nil, "/cache/u/tokentray"},
	} {
		got, err := stateDir(tc.goos, func(k string) string { return tc.env[k] }, home, cache)
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("stateDir(%s, %v) = %q, %v; want %q", tc.goos, tc.env, got, err, tc.want)
		}
	}
}
