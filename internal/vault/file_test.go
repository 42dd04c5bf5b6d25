package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"
)

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions on windows")
	}
	dir := filepath.Join(t.TempDir(), "new", "tokentray")
	path := filepath.Join(dir, "tokens.json")
	f := NewFile(path)
	if err := f.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + ".lock": 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %04o; want %04o", p, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries; want the file and its lock", len(entries))
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := f.Load(t.Context(), "work")
	if wantText := "chmod 600 " + path; err == nil || !strings.Contains(err.Error(), wantText) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Load() of a group-readable file = %v; want ErrUnavailable saying %q", err, wantText)
	}
	if err := f.Save(t.Context(), "work", fullEnvelope()); err == nil {
		t.Errorf("Save() into a group-readable file = nil; want an error")
	}
	if r := f.Probe(t.Context()); r.Status != ProbeUnavailable {
		t.Errorf("Probe() = %+v; want unavailable", r)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Load(t.Context(), "work"); err != nil {
		t.Errorf("Load() after chmod 600 = %v", err)
	}
}

func TestFileCorrupt(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not json", "rt-SECRET", "does not decode"},
		{"future format", `{"v":2,"accounts":{}}`, "format version 2"},
		{"bad envelope", `{"v":1,"accounts":{"work":{"v":1,"rt":5}}}`, `account "work"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewFile(path).Load(t.Context(), "work")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v; want ErrCorrupt containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("Load() error %q quotes the file", err)
			}
		})
	}
}

func TestFileConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	var wg sync.WaitGroup
	var want []string
	for i := range 8 {
		name := fmt.Sprintf("acct-%d", i)
		want = append(want, name)
		wg.Go(func() {
			// A File per goroutine, like separate processes.
			if err := NewFile(path).Save(t.Context(), name, envelopeOfSize(name, 2000)); err != nil {
				t.Errorf("Save(%q) = %v", name, err)
			}
		})
	}
	wg.Wait()
	got, err := NewFile(path).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() after concurrent saves mismatch (-want +got):\n%s", diff)
	}
}

func TestFileNoTempLeftOnFailure(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		t.Skip("needs unix permissions enforced (not root)")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	f := NewFile(path)
	if err := f.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if err := f.Save(t.Context(), "home", fullEnvelope()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Save() into a read-only directory = %v; want ErrUnavailable", err)
	}
	if _, err := f.Load(t.Context(), "work"); err != nil {
		t.Errorf("Load() after a failed Save = %v; want the old envelope", err)
	}
}

// TestFileSweepsTempsOfKilledWriters: a writer killed between creating its
// temp file and the rename leaves a token-holding temp; the next write
// removes it.
func TestFileSweepsTempsOfKilledWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	f := NewFile(path)
	stale := filepath.Join(dir, ".tokens.json.123456.tmp")
	if err := os.WriteFile(stale, []byte(`{"rt":"left-behind"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(t.Context(), "work", Envelope{RefreshToken: "rt-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there after a write: %v", err)
	}
	if env, err := f.Load(t.Context(), "work"); err != nil || env.RefreshToken != "rt-1" {
		t.Errorf("Load() = %v, %v", env.RefreshToken == "rt-1", err)
	}
}

// TestFileLockWaitIsBounded: another holder of the lock (a stopped
// `tokentray token`, say) makes Save and Load fail with ErrTimeout naming
// the lock file within the bound, instead of waiting forever.
func TestFileLockWaitIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	f := NewFile(path, FileLockTimeout(100*time.Millisecond))
	if err := f.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatal(err)
	}
	holder := flock.New(path + ".lock")
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	for name, run := range map[string]func() error{
		"Save": func() error { return f.Save(t.Context(), "work", fullEnvelope()) },
		"Load": func() error { _, err := f.Load(t.Context(), "work"); return err },
	} {
		start := time.Now()
		err := run()
		elapsed := time.Since(start)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), path+".lock") || !strings.Contains(err.Error(), "resume or end it") {
			t.Errorf("%s() while another process holds the lock = %v; want ErrTimeout naming the lock file and what to do", name, err)
		}
		if elapsed > 2*time.Second {
			t.Errorf("%s() returned after %v; want about 100ms", name, elapsed)
		}
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Errorf("Save() once the lock is free = %v", err)
	}
}
