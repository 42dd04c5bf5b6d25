//go:build unix

package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// TestRunnerKillsProcessGroupOnTimeout: a hook that outlives its timeout is
// killed together with the child it started in the background.
func TestRunnerKillsProcessGroupOnTimeout(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	rec, _, r := startRunner(t, Options{
		Commands: map[Event][]string{Failing: {"sh", "-c", `sleep 600 & echo "child $!"; wait`}},
		Timeout:  300 * time.Millisecond,
		Env:      []string{"PATH=" + os.Getenv("PATH"), "D=" + dir},
	})
	r.Fire(Fired{Event: Failing, Account: state.AccountStatus{Name: "work", State: state.Failing}})
	rec.wait(t, 1, msgIs("hook killed: it ran longer than hooks.timeout"))
	lines := rec.wait(t, 1, msgIs("hook output"))
	pid, err := strconv.Atoi(strings.TrimPrefix(lines[0].attrs["line"], "child "))
	if err != nil {
		t.Fatalf("hook output %q: no child pid", lines[0].attrs["line"])
	}
	if !gone(pid) {
		t.Errorf("the hook's background child %d still runs after the hook was killed", pid)
	}
}

// backgroundHook is a hook that starts a child in the background with its
// output elsewhere, so the hook's output ends when the hook exits, and
// prints the child's pid.
var backgroundHook = []string{"sh", "-c", `sleep 600 >/dev/null 2>&1 & echo "child $!"`}

// childPid returns the pid the backgroundHook printed.
func childPid(t *testing.T, rec *recorder) int {
	t.Helper()
	lines := rec.wait(t, 1, msgIs("hook output"))
	pid, err := strconv.Atoi(strings.TrimPrefix(lines[0].attrs["line"], "child "))
	if err != nil {
		t.Fatalf("hook output %q: no child pid", lines[0].attrs["line"])
	}
	return pid
}

// TestRunnerKillsBackgroundChildAtTimeout: a child the hook left in the
// background, its output redirected, is killed at the hook's timeout
// although the hook itself exited at once and the output ended.
func TestRunnerKillsBackgroundChildAtTimeout(t *testing.T) {
	requireSh(t)
	rec, _, r := startRunner(t, Options{
		Commands: map[Event][]string{Refreshed: backgroundHook},
		Timeout:  300 * time.Millisecond,
	})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	rec.wait(t, 1, msgIs("hook ran")) // the hook exited 0
	pid := childPid(t, rec)
	if !gone(pid) {
		t.Fatalf("the hook's background child %d still runs 30 s after the hook's timeout", pid)
	}
	rec.wait(t, 1, msgIs("hook's background processes killed: they ran longer than hooks.timeout"))
}

// TestRunnerKillsBackgroundChildOnStop: a child the hook left in the
// background is killed when the runner stops (the keeper quits), long
// before the hook's timeout.
func TestRunnerKillsBackgroundChildOnStop(t *testing.T) {
	requireSh(t)
	rec := newRecorder()
	r := New(Options{Commands: map[Event][]string{Refreshed: backgroundHook}, Timeout: 10 * time.Minute, Log: slogLogger(rec)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	snaps := make(chan state.Snapshot)
	go func() { r.Run(ctx, snaps); close(done) }()
	snaps <- state.Snapshot{}
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	rec.wait(t, 1, msgIs("hook ran"))
	pid := childPid(t, rec)
	cancel()
	<-done
	if !gone(pid) {
		t.Fatalf("the hook's background child %d still runs 30 s after the runner stopped", pid)
	}
	rec.wait(t, 1, msgIs("hook's background processes stopped: the keeper is stopping"))
}

// TestRunnerOneAtATimeBoundedQueue: while an account's hook runs, later
// events of the same kind wait (up to the queue size) and the rest are
// dropped and logged; nothing runs twice at once.
func TestRunnerOneAtATimeBoundedQueue(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "release")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rec, _, r := startRunner(t, Options{
		Commands: map[Event][]string{NeedsSignIn: {"sh", "-c", `echo started; read x < "$FIFO"`}},
		Queue:    1,
		Env:      []string{"PATH=" + os.Getenv("PATH"), "FIFO=" + fifo},
	})
	f := Fired{Event: NeedsSignIn, Account: state.AccountStatus{Name: "work", State: state.NeedsSignIn}}
	r.Fire(f)
	rec.wait(t, 1, msgIs("hook output"))
	r.Fire(f) // queued
	r.Fire(f) // dropped
	rec.wait(t, 1, msgIs("hook dropped: earlier runs are still queued"))
	if n := rec.count(msgIs("hook output")); n != 1 {
		t.Fatalf("%d runs started while the first still runs; want 1", n)
	}
	release := func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("go\n"))
		w.Close()
	}
	release()
	rec.wait(t, 2, msgIs("hook output")) // the queued one
	release()
	rec.wait(t, 2, msgIs("hook ran"))
	if n := rec.count(msgIs("hook output")); n != 2 {
		t.Errorf("%d runs for three events with a queue of one; want 2", n)
	}
}
