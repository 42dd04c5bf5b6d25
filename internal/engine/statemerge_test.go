package engine

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

func readStateFile(t *testing.T, path string) stateFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read state file: %v", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse state file: %v", err)
	}
	return f
}

// TestStateFileMergedAcrossProcesses: a keeper (running engine) and a CLI
// process (second engine) share one state file. The Retry-After the CLI got
// must survive the keeper's next write, and hold for the keeper too.
func TestStateFileMergedAcrossProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		w := newWorld(t, worldOpts{accounts: 2, noRun: true, stored: storedNow, statePath: path, lockDir: filepath.Join(dir, "locks")})
		keeper := w.eng
		w.start()
		synctest.Wait()
		cli := w.newEng()

		w.sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: time.Hour})
		throttledAt := time.Now()
		if _, err := cli.RefreshNow(t.Context(), "acct0"); err == nil {
			t.Fatalf("CLI RefreshNow() against a 429 = nil; want an error")
		}
		// The keeper writes its state (a refresh of the other account).
		if _, err := keeper.RefreshNow(t.Context(), "acct1"); err != nil {
			t.Fatalf("keeper RefreshNow(acct1) = %v", err)
		}
		f := readStateFile(t, path)
		if got := f.Accounts["acct0"].RetryAfterUntil; !got.Equal(throttledAt.Add(time.Hour)) {
			t.Errorf("after the keeper's write, acct0's retry_after_until = %v; want the CLI's %v", got, throttledAt.Add(time.Hour))
		}
		if f.Accounts["acct1"].LastSuccess.IsZero() {
			t.Errorf("the keeper's own entry for acct1 was not written")
		}

		reqs := len(w.tokenRequests("acct0"))
		var r *state.Refused
		if _, err := keeper.RefreshNow(t.Context(), "acct0"); !errors.As(err, &r) || r.Reason != state.RefusedRetryAfter {
			t.Errorf("keeper RefreshNow(acct0) during the CLI's Retry-After = %v; want refused", err)
		}
		time.Sleep(50 * time.Minute)
		if n := len(w.tokenRequests("acct0")) - reqs; n != 0 {
			t.Errorf("keeper sent %d requests for acct0 during the CLI's Retry-After; want 0", n)
		}
		if st := w.status("acct0"); !st.BackoffUntil.Equal(throttledAt.Add(time.Hour)) {
			t.Errorf("keeper's snapshot: backoff until %v; want the CLI's Retry-After %v", st.BackoffUntil, throttledAt.Add(time.Hour))
		}
	})
}
