//go:build !windows

package control

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenNeverDeletesANonSocket: a regular file or a symlink at the
// socket path (TOKENTRAY_CONTROL_SOCKET naming the wrong thing) is left as
// it is, and Listen says what sits there; the directory keeps its mode.
func TestListenNeverDeletesANonSocket(t *testing.T) {
	tests := []struct {
		name  string
		leave func(t *testing.T, path string)
		want  string
	}{
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is a regular file, not a socket"},
		{"dangling symlink", func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(path), "gone"), path); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink, not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := sockPath(t)
			dir := filepath.Dir(path)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			os.Chmod(dir, 0o750) // not writable by others, not the mode tokentray creates
			tt.leave(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}

			s, err := Listen(path, &recordingHandler{})
			if err == nil {
				s.Close()
				t.Fatalf("Listen over a %s = nil error; want a refusal", tt.name)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen over a %s = %v; want the path and %q", tt.name, err, tt.want)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) || after.Mode() != before.Mode() {
				t.Errorf("the %s at the socket path: before %v, after %v (%v); want it untouched", tt.name, before.Mode(), after, err)
			}
			if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
				t.Errorf("mode of %s = %v; want 0750 as it was", dir, fi.Mode().Perm())
			}
		})
	}
}

// TestListenChangesNoModeOfADirectoryItDidNotCreate: an existing directory
// writable by others is refused, not chmod'ed (it may be /tmp); one only its
// owner can write is used as it is; one tokentray creates is 0700.
func TestListenChangesNoModeOfADirectoryItDidNotCreate(t *testing.T) {
	t.Run("writable by others", func(t *testing.T) {
		path := sockPath(t)
		dir := filepath.Dir(path)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, os.ModeSticky|0o777)
		s, err := Listen(path, &recordingHandler{})
		if err == nil {
			s.Close()
			t.Fatal("Listen in a world-writable directory = nil error; want a refusal")
		}
		if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "writable by others") {
			t.Errorf("Listen in a world-writable directory = %v; want the directory and what is wrong", err)
		}
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o777 || fi.Mode()&os.ModeSticky == 0 {
			t.Errorf("mode of %s = %v; want 1777 as it was", dir, fi.Mode())
		}
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("Lstat(%s) = %v; want no socket made", path, err)
		}
	})
	t.Run("only its owner writes", func(t *testing.T) {
		path := sockPath(t)
		dir := filepath.Dir(path)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		start(t, path, &recordingHandler{}, nil)
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
			t.Errorf("mode of %s = %v; want 0755 as it was", dir, fi.Mode().Perm())
		}
		if _, err := dial(t, path).Ping(t.Context()); err != nil {
			t.Errorf("Ping = %v", err)
		}
	})
	t.Run("created", func(t *testing.T) {
		path := sockPath(t)
		start(t, path, &recordingHandler{}, nil)
		if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
			t.Errorf("mode of the directory Listen created = %v; want 0700", fi.Mode().Perm())
		}
	})
}
