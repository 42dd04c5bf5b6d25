package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// rotatesThenBlocks is a provider with strict rotation whose answer is slow:
// a Refresh with the current refresh token rotates it at once (the provider
// has the request), signals posted, then waits for release before answering.
// Like a real HTTP client it gives up when its ctx ends, and then the caller
// never sees the new refresh token. An old refresh token is invalid_grant.
type rotatesThenBlocks struct {
	posted  chan struct{} // one send per request that rotated
	release chan struct{} // closed: answer every request

	mu      sync.Mutex
	current string
	n       int
	used    []string // refresh tokens presented, in order
}

func newRotatesThenBlocks(rt string) *rotatesThenBlocks {
	return &rotatesThenBlocks{posted: make(chan struct{}, 16), release: make(chan struct{}), current: rt}
}

func (p *rotatesThenBlocks) Refresh(ctx context.Context, _ oauth.Profile, rt, _ string) (oauth.Token, error) {
	p.mu.Lock()
	p.used = append(p.used, rt)
	if rt != p.current {
		p.mu.Unlock()
		return oauth.Token{}, fmt.Errorf("refresh: %w", &oauth.Error{Class: oauth.Permanent, Code: "invalid_grant", Status: 400})
	}
	p.n++
	p.current = fmt.Sprintf("rt-%d", p.n)
	tok := oauth.Token{AccessToken: fmt.Sprintf("at-%d", p.n), RefreshToken: p.current, TokenType: "Bearer",
		Expiry: time.Now().Add(time.Hour), Fresh: true, Rotated: true}
	p.mu.Unlock()
	p.posted <- struct{}{}
	select {
	case <-p.release:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		return oauth.Token{}, fmt.Errorf("refresh: %w", &oauth.Error{Class: oauth.Transient, Err: ctx.Err()})
	}
	return tok, nil
}

func (p *rotatesThenBlocks) valid() string { p.mu.Lock(); defer p.mu.Unlock(); return p.current }

// newFakeEngine is an engine over mem and ref with one account "work" whose
// stored envelope is env.
func newFakeEngine(t *testing.T, mem *vault.Memory, ref refresher, env vault.Envelope, opts ...func(*Options)) *Engine {
	t.Helper()
	if err := mem.Save(t.Context(), "work", env); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	o := Options{Settings: config.Defaults(), Store: mem, Refresher: ref,
		Accounts: []Account{{Name: "work", Profile: testProfile()}}, Logger: testLogger(t)}
	for _, f := range opts {
		f(&o)
	}
	eng, err := New(o)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return eng
}

func TestCancelledCallerKeepsRotation(t *testing.T) {
	for _, call := range []string{"Token", "RefreshNow"} {
		t.Run(call, func(t *testing.T) {
			mem := vault.NewMemory()
			prov := newRotatesThenBlocks("rt-0")
			eng := newFakeEngine(t, mem, prov, vault.Envelope{RefreshToken: "rt-0"})
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				var err error
				if call == "Token" {
					_, err = eng.Token(ctx, "work", time.Minute)
				} else {
					_, err = eng.RefreshNow(ctx, "work")
				}
				errc <- err
			}()
			<-prov.posted // the provider has rotated rt-0 into rt-1
			cancel()      // Ctrl-C, or the control client hung up
			close(prov.release)
			err := <-errc
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("%s() after cancel = %v; want nil or context.Canceled", call, err)
			}
			if env, err := mem.Load(t.Context(), "work"); err != nil || env.RefreshToken != prov.valid() {
				t.Fatalf("vault after a cancelled %s holds %q (err %v); want the rotated %q", call, env.RefreshToken, err, prov.valid())
			}
			if _, err := eng.RefreshNow(t.Context(), "work"); err != nil {
				t.Fatalf("RefreshNow() after the cancelled %s = %v; want the rotated token to work", call, err)
			}
			if prov.used[len(prov.used)-1] != "rt-1" {
				t.Errorf("the next refresh presented %q; want rt-1", prov.used[len(prov.used)-1])
			}
		})
	}
}

func TestQuitDuringRefreshKeepsRotation(t *testing.T) {
	mem := vault.NewMemory()
	prov := newRotatesThenBlocks("rt-0")
	eng := newFakeEngine(t, mem, prov, vault.Envelope{RefreshToken: "rt-0"})
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(ctx) }()
	<-prov.posted // the scheduler's refresh has reached the provider
	cancel()      // the keeper quits
	close(prov.release)
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() = %v; want context.Canceled", err)
	}
	if env, err := mem.Load(t.Context(), "work"); err != nil || env.RefreshToken != "rt-1" {
		t.Fatalf("vault after quitting mid-refresh holds %q (err %v); want the rotated rt-1", env.RefreshToken, err)
	}
}

func TestFlushNamesRotatedTokenOnlyInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var saves *failNextSaves
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow,
			sim:   idpsim.Options{Rotation: idpsim.Strict},
			store: func(m *vault.Memory) store { saves = &failNextSaves{store: m}; return saves },
		})
		if err := w.eng.Flush(t.Context()); err != nil {
			t.Fatalf("Flush() with nothing unsaved = %v; want nil", err)
		}
		saves.set(1000) // the keychain stays locked
		if res, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil || res.Saved {
			t.Fatalf("RefreshNow() = %+v, %v; want done but not saved", res, err)
		}
		tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil || !tok.Unsaved {
			t.Fatalf("Token() while the pair is only in memory = %v, %v; want Unsaved", tok, err)
		}
		err = w.eng.Flush(t.Context())
		if !errors.Is(err, ErrUnsaved) {
			t.Fatalf("Flush() with a locked keychain = %v; want ErrUnsaved", err)
		}
		for _, want := range []string{`account "acct0"`, "rotated", "locked", "only copy", "unlock the keychain"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Flush() error %q does not say %q", err, want)
			}
		}

		saves.set(1) // the next save fails, the one after works
		if err := w.eng.Flush(t.Context()); err != nil {
			t.Fatalf("Flush() with a keychain that recovers = %v; want nil", err)
		}
		if got := w.storedRT("acct0"); got != w.newestRT() || !w.sim.Valid(got) {
			t.Errorf("after Flush the vault does not hold the newest, valid refresh token")
		}
		if tok, err := w.eng.Token(t.Context(), "acct0", time.Minute); err != nil || tok.Unsaved {
			t.Errorf("Token() after Flush = %v, %v; want saved", tok, err)
		}
		if st := w.status("acct0"); st.State != state.OK || st.Storage.Degraded {
			t.Errorf("after Flush: state %s, storage %+v; want ok, saved", st.State, st.Storage)
		}
	})
}
