package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// FuzzRestore feeds arbitrary state files to New: it must never fail or
// panic on their content, and a restored engine must give a snapshot.
func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"version":1,"accounts":{"a":{"signed_in":true,"state":"needs_signin","reason":"x","failures":2}}}`))
	f.Add([]byte(`{"version":1,"accounts":{"a":{"state":"backing_off","backoff_until":"2026-01-01T00:00:00Z","history":[{"at":"2026-01-01T00:00:00Z","kind":"ok"}]}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		eng, err := New(Options{Settings: config.Defaults(), Store: vault.NewMemory(), Refresher: &oauth.Client{},
			Accounts: []Account{{Name: "a"}, {Name: "b"}}, StatePath: path})
		if err != nil {
			t.Fatalf("New() with state file %q = %v; want it ignored or restored", data, err)
		}
		if n := len(eng.Snapshot().Accounts); n != 2 {
			t.Fatalf("Snapshot() has %d accounts; want 2", n)
		}
	})
}
