package keeper

import (
	"context"
	"os"
	"strings"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
)

// Info is what a window shows besides the accounts.
func (b *Backend) Info(context.Context) (control.Info, error) {
	in := control.Info{Version: b.o.Version, PID: os.Getpid(), Demo: b.o.Demo, TrayHost: b.o.TrayHost, Settings: b.settings}
	if b.probe.Err != nil {
		in.StorageProblem = b.probe.Err.Error()
	}
	in.FileSettings = b.settings
	if !b.o.Demo {
		in.ConfigPath = b.path
		fs, err := config.ReadFile(b.path)
		if err != nil {
			in.FileError = err.Error()
		} else {
			in.FileSettings = fs
		}
	}
	return in, nil
}

// snapshot is the engine's snapshot; a command run in-process reads the
// envelopes from the vault first (expiry and identity), once.
func (b *Backend) snapshot(ctx context.Context) state.Snapshot {
	if !b.o.Keeper {
		b.loadOnce.Do(func() { b.engine.Load(ctx) })
	}
	return b.engine.Snapshot()
}

// Status returns the snapshot of every account, or of account.
func (b *Backend) Status(ctx context.Context, account string) (state.Snapshot, error) {
	s := b.snapshot(ctx)
	if account != "" {
		a, ok := s.Account(account)
		if !ok {
			return state.Snapshot{}, unknownAccount(s, account)
		}
		s.Accounts = []state.AccountStatus{a}
	}
	if b.o.Keeper {
		b.addAzureSDK(s.Accounts)
	}
	return s, nil
}

// pick returns the account named name, or the only account when name is "".
func (b *Backend) pick(name string) (string, error) {
	s := b.engine.Snapshot()
	if name != "" {
		if _, ok := s.Account(name); !ok {
			return "", unknownAccount(s, name)
		}
		return name, nil
	}
	switch len(s.Accounts) {
	case 0:
		return "", control.Usagef("no account is configured; add one with: tokentray account add NAME --provider microsoft --client-id ID")
	case 1:
		return s.Accounts[0].Name, nil
	}
	return "", control.Usagef("several accounts are configured (%s); name one", accountNames(s))
}

func unknownAccount(s state.Snapshot, name string) error {
	return control.Usagef("no account named %q; configured accounts: %s", name, accountNames(s))
}

func accountNames(s state.Snapshot) string {
	var n []string
	for _, a := range s.Accounts {
		n = append(n, a.Name)
	}
	if len(n) == 0 {
		return "(none configured)"
	}
	return strings.Join(n, ", ")
}
