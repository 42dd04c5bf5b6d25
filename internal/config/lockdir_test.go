package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// unsetenv removes k for the test and restores it afterwards.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	os.Unsetenv(k)
}

func TestLockDirIgnoresEnvironment(t *testing.T) {
	unsetenv(t, LockDirEnv)
	want, err := LockDir()
	if err != nil {
		t.Fatalf("LockDir() = %v", err)
	}
	tmp := t.TempDir()
	for _, env := range []map[string]string{
		{"HOME": filepath.Join(tmp, "otherhome")},
		{"XDG_STATE_HOME": filepath.Join(tmp, "state")},
		{"XDG_CACHE_HOME": filepath.Join(tmp, "cache"), "XDG_RUNTIME_DIR": filepath.Join(tmp, "run")},
		{"TOKENTRAY_STATE_DIR": filepath.Join(tmp, "tstate")},
		{"LOCALAPPDATA": filepath.Join(tmp, "local"), "USERPROFILE": filepath.Join(tmp, "profile"), "APPDATA": filepath.Join(tmp, "roaming")},
		{"HOME": "", "XDG_STATE_HOME": "", "XDG_CACHE_HOME": ""},
	} {
		t.Run("", func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			got, err := LockDir()
			if err != nil || got != want {
				t.Errorf("LockDir() with %v = %q, %v; want %q", env, got, err, want)
			}
		})
	}
	// A process started with an empty environment agrees too.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPrintLockDir$", "-test.count=1", "-test.v")
	cmd.Env = []string{"TOKENTRAY_TEST_PRINT_LOCKDIR=1"}
	if runtime.GOOS == "windows" {
		cmd.Env = append(cmd.Env, "SYSTEMROOT="+os.Getenv("SYSTEMROOT"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "lockdir="+want+"\n") {
		t.Errorf("child with an empty environment printed\n%s\nwant lockdir=%s", out, want)
	}
}

func TestHelperPrintLockDir(t *testing.T) {
	if os.Getenv("TOKENTRAY_TEST_PRINT_LOCKDIR") == "" {
		t.Skip("helper process only")
	}
	d, err := LockDir()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("lockdir=" + d + "\n")
}

func TestLockDirOverride(t *testing.T) {
	t.Setenv(LockDirEnv, "relative/locks")
	if _, err := LockDir(); err == nil || !strings.Contains(err.Error(), LockDirEnv) || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("LockDir() with a relative %s = %v; want an error naming the variable and that it must be absolute", LockDirEnv, err)
	}
	want := filepath.Join(t.TempDir(), "a", "locks")
	t.Setenv(LockDirEnv, want)
	got, err := LockDir()
	if err != nil || got != want {
		t.Fatalf("LockDir() with %s=%q = %q, %v; want the same path", LockDirEnv, want, got, err)
	}
	fi, err := os.Stat(got)
	if err != nil || !fi.IsDir() {
		t.Fatalf("lock dir not created: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("lock dir mode = %v; want 0700", fi.Mode().Perm())
	}
}

func TestLockDirTightensLooseMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix modes")
	}
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Setenv(LockDirEnv, dir)
	if _, err := LockDir(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("lock dir mode = %v after LockDir; want 0700", fi.Mode().Perm())
	}
}

func TestLockDirRefusesOtherOwner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the lock directory's owner is checked on unix only")
	}
	// Root gives a directory of its own to uid 65534; anyone else finds
	// one owned by another user already: "/" (root's).
	dir, owner := "/", 0
	if os.Getuid() == 0 {
		dir, owner = filepath.Join(t.TempDir(), "locks"), 65534
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(LockDirEnv, dir)
	want := fmt.Sprintf("owned by uid %d", owner)
	if _, err := LockDir(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LockDir() on a directory of uid %d = %v; want it refused naming the owner", owner, err)
	}
}
