package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrAccountExists is returned by AddAccount for a name already in the set.
var ErrAccountExists = errors.New("an account with this name already exists")

// AddAccount adds acc to the live account set, at the end of the snapshot
// order. It reads acc's envelope from the vault first, so an account that
// another process signed in shows as signed in (with its expiry and
// identity), and takes acc's entry of the state file, if there is one.
// Once it returns, a running Run has acc in its schedule and subscribers
// have a snapshot that includes it; without Run, acc is scheduled when Run
// starts. An empty name, or one already in the set (ErrAccountExists), is
// refused.
func (e *Engine) AddAccount(ctx context.Context, acc Account) error {
	if acc.Name == "" {
		return errors.New("add account: the name is empty; give the account a name")
	}
	exists := func() bool { _, ok := e.byName[acc.Name]; return ok }
	e.mu.Lock()
	dup := exists()
	e.mu.Unlock()
	if dup {
		return fmt.Errorf("add account %q: %w", acc.Name, ErrAccountExists)
	}

	a := newAccount(acc)
	if f, err := e.readState(); err != nil {
		e.log.Warn("engine state file not read; the new account starts fresh", "account", acc.Name, "error", err)
	} else if s, ok := f.Accounts[acc.Name]; ok {
		restoreAccount(a, s, e.now())
		e.clampLocked(a, e.now())
		e.syncedLocked(a, s, e.now())
	}
	env, err := e.store.Load(ctx, acc.Name)
	if ctx.Err() != nil {
		return fmt.Errorf("add account %q: %w", acc.Name, ctx.Err())
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if exists() { // added by a concurrent call while we read the vault
		return fmt.Errorf("add account %q: %w", acc.Name, ErrAccountExists)
	}
	e.accts = append(e.accts, a)
	e.byName[a.name] = a
	delete(e.dropState, a.name)
	e.loadedLocked(a, env, err)
	e.changedLocked(a) // schedules it in Run and publishes
	e.log.Info("account added", "account", a.name)
	return nil
}

// RemoveAccount drops name from the live account set: from the schedule, the
// snapshot and the state file. It first waits, as long as ctx allows, for a
// refresh, sign-in or sign-out of the account that is running; if ctx ends
// first, the account stays and the error says so. A sign-in still waiting
// for the user is cancelled. Once RemoveAccount returns, every call for name
// fails with ErrUnknownAccount (until it is added again), nothing started
// before can bring it back, and the state file no longer has it. It does not
// delete the account's secrets: call SignOut first for that.
func (e *Engine) RemoveAccount(ctx context.Context, name string) error {
	a, err := e.account(name)
	if err != nil {
		return fmt.Errorf("remove account: %w", err)
	}
	if err := e.acquire(ctx, a, true); err != nil {
		if errors.Is(err, ErrUnknownAccount) {
			// A concurrent RemoveAccount was first.
			return fmt.Errorf("remove account %q: %w", name, err)
		}
		return fmt.Errorf("remove account %q: wait for its running refresh: %w", name, err)
	}
	e.mu.Lock()
	close(a.gone) // new flights are refused from here on
	delete(e.byName, name)
	e.accts = slices.DeleteFunc(e.accts, func(x *account) bool { return x == a })
	e.changedLocked(a) // Run drops it from the schedule; subscribers see it gone
	if e.dropState == nil {
		e.dropState = map[string]bool{}
	}
	e.dropState[name] = true
	e.mu.Unlock()
	if a.lockFh != nil { // ours: we hold the flight
		_ = a.lockFh.Close()
		a.lockFh = nil
	}
	<-a.sem
	e.persistWait()
	e.log.Info("account removed", "account", name)
	return nil
}
