package engine

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// hungKeychain answers no Load: each gives up after its timeout, like a
// locked Secret Service behind vault.Keychain's per-call timeout.
type hungKeychain struct {
	*vault.Memory
	timeout time.Duration
}

func (h hungKeychain) Load(ctx context.Context, account string) (vault.Envelope, error) {
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return vault.Envelope{}, ctx.Err()
	case <-t.C:
		return vault.Envelope{}, fmt.Errorf("load %q: %w", account, vault.ErrTimeout)
	}
}

func TestLoadWithHungKeychainIsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 5 * time.Second
		var accts []Account
		for i := range 8 {
			accts = append(accts, Account{Name: fmt.Sprintf("acct%d", i), Profile: testProfile()})
		}
		eng, err := New(Options{Settings: config.Defaults(), Store: hungKeychain{vault.NewMemory(), timeout},
			Refresher: newRotatesThenBlocks("unused"), Accounts: accts, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		eng.Load(t.Context())
		if took := time.Since(start); took > 2*timeout {
			t.Errorf("Load() of 8 accounts with a hung keychain took %v; want at most 2 × %v (4 at a time)", took, timeout)
		}
		for _, a := range eng.Snapshot().Accounts {
			if a.LastError == nil || a.LastError.Class != state.ClassStorage {
				t.Errorf("account %s after a timed-out Load: last error %+v; want a storage error", a.Name, a.LastError)
			}
		}
	})
}
