package keeper

import (
	"context"
	"testing"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// TestDemoNeedsSignInRecovery: the demo signs in by itself; when its
// provider ends the grant the account needs sign-in, and the keeper's
// sign-in (the simulator's self-approving browser flow) recovers it.
func TestDemoNeedsSignInRecovery(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := StartDemo(ctx, &config.Loaded{Settings: config.Defaults()}, DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, _ := d.backend.Engine().Snapshot().Account(demoAccount); st.State != state.OK {
		t.Fatalf("demo account after start: %s; want ok", st.State)
	}
	d.sim.RevokeGrant(demoSubject)
	if _, err := d.backend.Engine().RefreshNow(ctx, demoAccount); err == nil {
		t.Fatal("RefreshNow after the grant ended = nil; want an error")
	}
	if st, _ := d.backend.Engine().Snapshot().Account(demoAccount); st.State != state.NeedsSignIn {
		t.Fatalf("state after the grant ended: %s; want needs_signin", st.State)
	}
	if _, err := d.backend.Engine().SignIn(ctx, demoAccount, engine.SignInMethod{Browser: oauth.BrowserOptions{Open: demoBrowser}}); err != nil {
		t.Fatalf("demo sign-in: %v", err)
	}
	if st, _ := d.backend.Engine().Snapshot().Account(demoAccount); st.State != state.OK {
		t.Errorf("state after sign-in: %s; want ok", st.State)
	}
	if _, err := d.backend.Engine().RefreshNow(ctx, demoAccount); err != nil {
		t.Errorf("RefreshNow after sign-in = %v", err)
	}
}
