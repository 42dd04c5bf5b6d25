package keeper

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/vault"
)

// errDemo refuses changes in the demo, whose settings are not the user's.
var errDemo = errors.New("the demo changes no settings or accounts; quit it and start tokentray to use your own")

// NormalizeAccount fills the defaults a user may leave out and validates a.
func NormalizeAccount(a config.Account) (config.Account, error) {
	if a.Provider == "microsoft" && a.Tenant == "" {
		a.Tenant = "common"
	}
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("account %q: %w", a.Name, err)
	}
	return a, nil
}

// AddAccount adds a to the settings file (under its lock, so concurrent
// adders never drop each other's account) and to the running engine at
// once; a client secret goes to the vault through the engine.
func (b *Backend) AddAccount(ctx context.Context, a config.Account, secret string) error {
	if b.o.Demo {
		return control.Usagef("%v", errDemo)
	}
	ctx = vault.Interactive(ctx)
	a, err := NormalizeAccount(a)
	if err != nil {
		return control.Usagef("%v", err)
	}
	p, err := Profile(a)
	if err != nil {
		return control.Usagef("account %q: %v", a.Name, err)
	}
	if err := config.AddAccount(b.path, a); err != nil {
		if errors.Is(err, config.ErrAccountExists) {
			return control.Usagef("an account named %q exists already; remove it first or choose another name", a.Name)
		}
		return err
	}
	if err := b.engine.AddAccount(ctx, engine.Account{Name: a.Name, Profile: p}); err != nil && !errors.Is(err, engine.ErrAccountExists) {
		return fmt.Errorf("account %q was added to %s, but the running engine could not take it on: %w", a.Name, b.path, err)
	}
	b.azureAccountAdded(a)
	if secret != "" {
		if err := b.engine.SetClientSecret(ctx, a.Name, secret); err != nil {
			return fmt.Errorf("account %q was added, but its client secret was not stored: %w (retry with tokentray login %s --client-secret-stdin)", a.Name, err, a.Name)
		}
	}
	return nil
}

// RemoveAccount signs name out (revoking where possible, deleting every
// secret), drops it from the settings file and from the running engine. If
// the sign-out fails the account is kept, so the user can retry.
func (b *Backend) RemoveAccount(ctx context.Context, name string) error {
	if b.o.Demo {
		return control.Usagef("%v", errDemo)
	}
	ctx = vault.Interactive(ctx)
	if err := b.engine.SignOut(ctx, name); err != nil {
		if errors.Is(err, engine.ErrUnknownAccount) {
			return unknownAccount(b.engine.Snapshot(), name)
		}
		return fmt.Errorf("remove account %q: %w (it is kept so you can retry)", name, err)
	}
	if err := config.RemoveAccount(b.path, name); err != nil && !errors.Is(err, config.ErrNoAccount) {
		return err
	}
	if err := b.engine.RemoveAccount(ctx, name); err != nil && !errors.Is(err, engine.ErrUnknownAccount) {
		return err
	}
	b.azureAccountRemoved(ctx, name)
	return nil
}

// SaveSettings writes s to the settings file, keeping the file's accounts
// (they change through AddAccount and RemoveAccount, never through a
// settings save). The running service keeps its settings until restart.
func (b *Backend) SaveSettings(_ context.Context, s config.Settings) error {
	if b.o.Demo {
		return control.Usagef("%v", errDemo)
	}
	return config.Update(b.path, func(onDisk *config.Settings) error {
		s.Accounts = onDisk.Accounts
		*onDisk = s
		return nil
	})
}
