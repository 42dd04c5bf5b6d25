package keeper

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/vault"
)

// promptRecorder is a store that remembers, for every call, whether the
// caller allowed a keychain prompt (vault.Interactive).
type promptRecorder struct {
	Store
	mu    sync.Mutex
	calls []bool
}

func (r *promptRecorder) note(ctx context.Context) {
	r.mu.Lock()
	r.calls = append(r.calls, vault.IsInteractive(ctx))
	r.mu.Unlock()
}

func (r *promptRecorder) Load(ctx context.Context, account string) (vault.Envelope, error) {
	r.note(ctx)
	return r.Store.Load(ctx, account)
}

func (r *promptRecorder) Save(ctx context.Context, account string, e vault.Envelope) error {
	r.note(ctx)
	return r.Store.Save(ctx, account, e)
}

// take returns the calls since the last take: how many, and how many
// allowed a prompt.
func (r *promptRecorder) take() (n, prompting int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.calls {
		if p {
			prompting++
		}
	}
	n = len(r.calls)
	r.calls = nil
	return n, prompting
}

// TestOnlyUserActionsMayPrompt: invariant 9 — what a script or the keeper
// does by itself (a token, even one that needs a refresh; status) never
// raises a keychain prompt; what the user asked for (refresh now, sign-out,
// import) may. The decision is the service's, so it holds in-process and
// through the keeper alike.
func TestOnlyUserActionsMayPrompt(t *testing.T) {
	rec := &promptRecorder{Store: vault.NewMemory()}
	b, _ := open(t, Options{Store: rec})
	ctx := t.Context()
	if n, p := rec.take(); n == 0 || p != n {
		t.Errorf("Import: %d vault calls, %d allowed a prompt; want all of them (the user asked)", n, p)
	}
	for what, call := range map[string]func() error{
		"Token (a claims challenge: a forced refresh and save)": func() error {
			_, err := b.Token(ctx, "work", control.TokenOptions{Claims: base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`))})
			return err
		},
		"Status": func() error { _, err := b.Status(ctx, ""); return err },
	} {
		if err := call(); err != nil {
			t.Fatalf("%s = %v", what, err)
		}
		if n, p := rec.take(); n == 0 || p != 0 {
			t.Errorf("%s: %d of %d vault calls allowed a keychain prompt; want some calls, none allowing one", what, p, n)
		}
	}
	if _, err := b.Refresh(ctx, "work", false); err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	if n, p := rec.take(); n == 0 || p != n {
		t.Errorf("Refresh: %d vault calls, %d allowed a prompt; want all of them (the user asked)", n, p)
	}
	if err := b.Logout(ctx, "work"); err != nil {
		t.Fatalf("Logout = %v", err)
	}
	if _, p := rec.take(); p == 0 {
		t.Errorf("Logout: no vault call allowed a prompt; want the sign-out's to")
	}
}
