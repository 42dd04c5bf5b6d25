package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/idpsim"
)

// TestDemoNeedsSignInRecovery: the demo signs in by itself; when its
// provider ends the grant the account needs sign-in, and the UI's "Sign in"
// action (the simulator's self-approving browser flow) recovers it.
func TestDemoNeedsSignInRecovery(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := startDemo(ctx, &globals{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, _ := d.core.engine.Snapshot().Account(demoAccount); st.State != engine.OK {
		t.Fatalf("demo account after start: %s; want ok", st.State)
	}
	d.sim.RevokeGrant(demoSubject)
	if _, err := d.core.engine.RefreshNow(ctx, demoAccount); err == nil {
		t.Fatal("RefreshNow after the grant ended = nil; want an error")
	}
	if st, _ := d.core.engine.Snapshot().Account(demoAccount); st.State != engine.NeedsSignIn {
		t.Fatalf("state after the grant ended: %s; want needs_signin", st.State)
	}
	if err := signInFunc(d.core, true, nil)(ctx, demoAccount, false, nil); err != nil {
		t.Fatalf("demo sign-in: %v", err)
	}
	if st, _ := d.core.engine.Snapshot().Account(demoAccount); st.State != engine.OK {
		t.Errorf("state after sign-in: %s; want ok", st.State)
	}
	if _, err := d.core.engine.RefreshNow(ctx, demoAccount); err != nil {
		t.Errorf("RefreshNow after sign-in = %v", err)
	}
}

// TestSignInAccountAddedThisSession: the window's "Add account" writes the
// file while the engine runs without the account; signing it in goes
// through a core built from the file, stores the tokens, and restarts the
// app so the running engine takes the account on.
func TestSignInAccountAddedThisSession(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	_, _, base := startSim(t, idpsim.Options{AutoApproveDevice: 1, DeviceInterval: time.Second})
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", base)
	path := filepath.Join(dir, "config", "tokentray", "config.yaml")
	s := config.Defaults()
	s.Storage.Backend = "file"
	if err := config.Save(path, s); err != nil {
		t.Fatal(err)
	}
	l, err := config.Load(config.LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCore(t.Context(), l, coreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := addAccountToFile(path, config.Account{Name: "fresh", Provider: "microsoft", ClientID: "cli-9"}); err != nil {
		t.Fatal(err)
	}
	restarted := make(chan struct{})
	signIn := signInFunc(c, false, func() { close(restarted) })
	if err := signIn(t.Context(), "fresh", true, func(string, string) {}); err != nil {
		t.Fatalf("sign-in of the new account: %v", err)
	}
	select {
	case <-restarted:
	case <-time.After(10 * time.Second):
		t.Fatal("no restart after signing in an account the running engine does not know")
	}
	l2, _ := config.Load(config.LoadOptions{Path: path})
	c2, err := newCore(t.Context(), l2, coreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	tok, err := c2.engine.Token(t.Context(), "fresh", 0)
	if err != nil || tok.Token == "" {
		t.Fatalf("after restart Token(fresh) = %v; want the signed-in token", err)
	}
}
