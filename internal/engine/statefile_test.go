package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// TestOlderStateFileWithNotifiedLoads: a state file written before the
// engine stopped recording notifications ("notified" per account) still
// loads with everything else it holds, and the next write drops the field.
func TestOlderStateFileWithNotifiedLoads(t *testing.T) {
	b, err := os.ReadFile("testdata/state-notified.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := New(Options{Settings: config.Defaults(), Store: vault.NewMemory(), Refresher: newRotatesThenBlocks("unused"),
		Accounts: []Account{{Name: "acct0", Profile: testProfile()}, {Name: "acct1", Profile: testProfile()}}, StatePath: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New() with an older state file = %v", err)
	}
	s := eng.Snapshot()
	a0, _ := s.Account("acct0")
	if a0.State != state.NeedsSignIn || !strings.Contains(a0.Reason, "AADSTS700082") || a0.LastError == nil || a0.LastError.Code != "invalid_grant" {
		t.Errorf("acct0 from the older file: state %s, reason %q, last error %+v; want needs_signin with its AADSTS700082 error", a0.State, a0.Reason, a0.LastError)
	}
	a1, _ := s.Account("acct1")
	if a1.State != state.Failing || a1.Failures != 12 || !a1.LastAttempt.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("acct1 from the older file: state %s, failures %d, last attempt %v; want failing, 12, 2026-11-30T09:00Z", a1.State, a1.Failures, a1.LastAttempt)
	}
	eng.mu.Lock()
	a := eng.byName["acct0"]
	a.reason += "."
	eng.changedLocked(a)
	eng.mu.Unlock()
	eng.persistWait()
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "notified") {
		t.Errorf("the state file after a write still has \"notified\":\n%s", b)
	}
}
