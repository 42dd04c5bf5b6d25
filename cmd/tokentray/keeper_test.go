package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// keeperFixture is a keeper served in this process on a private socket,
// with the file vault and a settings file of its own.
type keeperFixture struct {
	backend *keeper.Backend
	path    string // settings file
	client  *control.Client
	mu      sync.Mutex
	snaps   []state.Snapshot
}

func startKeeper(t *testing.T, base string) *keeperFixture {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv(config.LockDirEnv, filepath.Join(dir, "locks"))
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
	ctx, cancel := context.WithCancel(context.Background())
	b, err := keeper.Open(ctx, l, keeper.Options{Keeper: true, TrayHost: true, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "kp")
	if err != nil {
		t.Fatal(err)
	}
	sock, err := keeper.Claim(filepath.Join(sockDir, "control.sock"), false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sock.Serve(ctx, b, control.Front{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
		b.Close()
		os.RemoveAll(sockDir)
	})
	var cl *control.Client
	waitFor(t, 5*time.Second, "the keeper to answer", func() bool {
		cl, err = control.Dial(sock.Path())
		return err == nil
	})
	f := &keeperFixture{backend: b, path: path, client: cl}
	subscribed := make(chan struct{})
	var once sync.Once
	go cl.Subscribe(ctx, true, func(s state.Snapshot) {
		f.mu.Lock()
		f.snaps = append(f.snaps, s)
		f.mu.Unlock()
		once.Do(func() { close(subscribed) })
	}, nil)
	<-subscribed
	return f
}

// latest is the newest snapshot the subscription delivered.
func (f *keeperFixture) latest() state.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snaps[len(f.snaps)-1]
}

// TestKeeperAccountsChangeLive: an account added through the keeper appears
// in the snapshot stream at once, signs in with a device code streamed back
// to the caller, serves tokens, and is removed again, with no restart; the
// settings file follows each change.
func TestKeeperAccountsChangeLive(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{AutoApproveDevice: 1, DeviceInterval: time.Second})
	f := startKeeper(t, base)
	ctx := t.Context()

	if err := f.client.AddAccount(ctx, config.Account{Name: "fresh", Provider: "microsoft", ClientID: testClientID9}, ""); err != nil {
		t.Fatalf("AddAccount = %v", err)
	}
	waitFor(t, time.Second, "the new account in the snapshot stream", func() bool {
		a, ok := f.latest().Account("fresh")
		return ok && a.State == state.SignedOut
	})
	if s, err := config.ReadFile(f.path); err != nil || len(s.Accounts) != 1 || s.Accounts[0].Tenant != "common" {
		t.Errorf("settings file after add: %+v, %v; want the account with tenant common", s.Accounts, err)
	}
	err := f.client.AddAccount(ctx, config.Account{Name: "fresh", Provider: "microsoft", ClientID: testClientID9}, "")
	var re *wire.ResponseError
	if !errors.As(err, &re) || re.Code != exitUsage {
		t.Errorf("adding it twice = %v; want a usage refusal", err)
	}

	var codes []control.DeviceCode
	res, err := f.client.Login(ctx, "fresh", control.LoginOptions{Device: true, OnDevice: func(dc control.DeviceCode) { codes = append(codes, dc) }})
	if err != nil || res.Account != "fresh" {
		t.Fatalf("Login = %+v, %v", res, err)
	}
	if len(codes) != 1 || codes[0].UserCode == "" {
		t.Errorf("device codes streamed to the caller: %+v; want one", codes)
	}
	waitFor(t, time.Second, "the account signed in in the snapshot stream", func() bool {
		a, _ := f.latest().Account("fresh")
		return a.State == state.OK
	})
	tok, err := f.client.Token(ctx, "fresh", control.TokenOptions{})
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	if !slices.Contains(sim.Issued(), tok.AccessToken) {
		t.Errorf("the token the keeper served is not one the provider issued")
	}
	if _, err := f.client.Token(ctx, "nobody", control.TokenOptions{}); !errors.As(err, &re) || re.Code != exitUsage {
		t.Errorf("Token(nobody) = %v; want a usage refusal naming the accounts", err)
	}

	if err := f.client.RemoveAccount(ctx, "fresh"); err != nil {
		t.Fatalf("RemoveAccount = %v", err)
	}
	waitFor(t, time.Second, "the account gone from the snapshot stream", func() bool {
		_, ok := f.latest().Account("fresh")
		return !ok
	})
	if s, err := config.ReadFile(f.path); err != nil || len(s.Accounts) != 0 {
		t.Errorf("settings file after remove: %+v, %v; want no account", s.Accounts, err)
	}
	if _, err := keeper.OpenStore(f.backend.Settings(), f.backend.StateDir(), "").Load(ctx, "fresh"); err == nil {
		t.Errorf("the removed account's tokens are still in the vault")
	}
}

// TestKeeperSettingsSaveKeepsAccounts: a settings save from the window
// writes the file but never its accounts (they change through add/remove),
// and the running keeper keeps its settings until restart.
func TestKeeperSettingsSaveKeepsAccounts(t *testing.T) {
	_, _, base := startSim(t, idpsim.Options{})
	f := startKeeper(t, base)
	ctx := t.Context()
	if err := f.client.AddAccount(ctx, config.Account{Name: "work", Provider: "microsoft", ClientID: testClientID}, ""); err != nil {
		t.Fatal(err)
	}
	in, err := f.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := in.FileSettings
	s.Refresh.IntervalHours = 6
	s.Accounts = nil // a stale window's view must not drop the account
	if err := f.client.SaveSettings(ctx, s); err != nil {
		t.Fatalf("SaveSettings = %v", err)
	}
	onDisk, err := config.ReadFile(f.path)
	if err != nil || onDisk.Refresh.IntervalHours != 6 || len(onDisk.Accounts) != 1 {
		t.Errorf("file after save: interval %d, accounts %+v, %v; want 6 and the account kept", onDisk.Refresh.IntervalHours, onDisk.Accounts, err)
	}
	in, _ = f.client.Info(ctx)
	if in.Settings.Refresh.IntervalHours != 1 || in.FileSettings.Refresh.IntervalHours != 6 {
		t.Errorf("info after save: running %d h, file %d h; want 1 (until restart) and 6", in.Settings.Refresh.IntervalHours, in.FileSettings.Refresh.IntervalHours)
	}
	s.Refresh.IntervalHours = 25
	if err := f.client.SaveSettings(ctx, s); !errors.As(err, new(*wire.ResponseError)) {
		t.Errorf("SaveSettings(25 h) = %v; want a refusal naming the range", err)
	}
}
