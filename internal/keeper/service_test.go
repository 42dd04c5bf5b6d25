package keeper

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

const testClient = "00000000-0000-0000-0000-0000000000c1"

// open builds a Backend over the file vault in a temp directory with one
// Microsoft account, "work", signed in at the simulator.
func open(t *testing.T, o Options) (*Backend, *idpsim.Server) {
	t.Helper()
	sim := idpsim.New(idpsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", srv.URL)
	dir := t.TempDir()
	t.Setenv(config.LockDirEnv, filepath.Join(dir, "locks"))
	path := filepath.Join(dir, "config.yaml")
	s := config.Defaults()
	s.Storage.Backend = "file"
	s.Accounts = []config.Account{{Name: "work", Provider: "microsoft", Tenant: "organizations", ClientID: testClient, Scopes: []string{"User.Read"}}}
	if err := config.Save(path, s); err != nil {
		t.Fatal(err)
	}
	l, err := config.Load(config.LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	o.StateDir = filepath.Join(dir, "state")
	b, err := Open(t.Context(), l, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	rt := sim.Grant(testClient, "alice@contoso.test", []string{"offline_access", "openid", "profile", "User.Read"})
	if _, err := b.Import(t.Context(), "work", rt); err != nil {
		t.Fatalf("Import = %v", err)
	}
	return b, sim
}

// serve serves b on a control socket in a temp directory and returns a
// client of it.
func serve(t *testing.T, b *Backend) *control.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "kp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock, err := Claim(filepath.Join(dir, "control.sock"), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sock.Serve(ctx, b, control.Front{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
	})
	c, err := control.Dial(sock.Path())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServiceAnswersAlikeBothWays: every client talks to one interface,
// control.Service; a command gets the same answers, messages and exit codes
// from the keeper over its socket as from the service in-process.
func TestServiceAnswersAlikeBothWays(t *testing.T) {
	local, _ := open(t, Options{})
	kept, _ := open(t, Options{Keeper: true})
	for _, tc := range []struct {
		name string
		svc  control.Service
	}{
		{"in-process", local},
		{"keeper", serve(t, kept)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			tok, err := tc.svc.Token(ctx, "", control.TokenOptions{MinValid: 0})
			if err != nil || tok.AccessToken == "" || tok.Username != "alice@contoso.test" {
				t.Fatalf("Token(the only account) = %v, user %q, %v; want a token of alice@contoso.test", tok, tok.Username, err)
			}
			s, err := tc.svc.Status(ctx, "work")
			if err != nil || len(s.Accounts) != 1 || s.Accounts[0].State != state.OK {
				t.Errorf("Status(work) = %+v, %v; want work ok", s.Accounts, err)
			}
			rs, err := tc.svc.Refresh(ctx, "work", false)
			if err != nil || len(rs) != 1 || !rs[0].Fresh || !rs[0].Saved {
				t.Errorf("Refresh(work) = %+v, %v; want one fresh, saved result", rs, err)
			}
			es, err := tc.svc.AccessLog(ctx, "work", 10)
			if err != nil || len(es) != 1 || es[0].Account != "work" {
				t.Errorf("AccessLog(work) = %+v, %v; want the one token handed out", es, err)
			}
			for _, bad := range []struct {
				what string
				err  error
			}{
				{"Token(nobody)", second(tc.svc.Token(ctx, "nobody", control.TokenOptions{}))},
				{"Status(nobody)", second(tc.svc.Status(ctx, "nobody"))},
				{"Refresh(nobody)", second(tc.svc.Refresh(ctx, "nobody", false))},
				{"Logout(nobody)", tc.svc.Logout(ctx, "nobody")},
			} {
				const want = `no account named "nobody"; configured accounts: work`
				if control.CodeOf(bad.err) != wire.CodeUsage || bad.err.Error() != want {
					t.Errorf("%s = %v (code %d); want %q with code %d", bad.what, bad.err, control.CodeOf(bad.err), want, wire.CodeUsage)
				}
			}
			if err := tc.svc.Logout(ctx, "work"); err != nil {
				t.Fatalf("Logout(work) = %v", err)
			}
			_, err = tc.svc.Token(ctx, "work", control.TokenOptions{})
			const want = `account "work" is not signed in; run: tokentray login work`
			if control.CodeOf(err) != wire.CodeNeedsSignIn || err == nil || err.Error() != want {
				t.Errorf("Token after Logout = %v (code %d); want %q with code %d", err, control.CodeOf(err), want, wire.CodeNeedsSignIn)
			}
		})
	}
}

// TestDemoRefusesChanges: the demo's settings are not the user's; both
// ways, account and settings changes are refused as usage errors.
func TestDemoRefusesChanges(t *testing.T) {
	b, _ := open(t, Options{Keeper: true, Demo: true})
	for _, svc := range []control.Service{b, serve(t, b)} {
		ctx := t.Context()
		for what, err := range map[string]error{
			"AddAccount":    svc.AddAccount(ctx, config.Account{Name: "x", Provider: "microsoft", ClientID: testClient}, ""),
			"RemoveAccount": svc.RemoveAccount(ctx, "work"),
			"SaveSettings":  svc.SaveSettings(ctx, config.Defaults()),
		} {
			if control.CodeOf(err) != wire.CodeUsage || !errors.Is(err, errDemo) && err.Error() != errDemo.Error() {
				t.Errorf("%s in the demo = %v; want %q (usage)", what, err, errDemo)
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }
