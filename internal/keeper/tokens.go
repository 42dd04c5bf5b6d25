package keeper

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
	"github.com/tokentray/tokentray/internal/wire"
)

// Token serves a token request: an access token of account for o.Scopes
// (the account's own when empty) valid for o.MinValid, refreshed first when
// needed, after a forced refresh with o.Claims. A per-resource failure
// exits 1, an account that needs sign-in 3. A script's request never
// raises a keychain prompt. Every token handed out is recorded in the
// access log.
func (b *Backend) Token(ctx context.Context, account string, o control.TokenOptions) (wire.Token, error) {
	name, err := b.pick(account)
	if err != nil {
		return wire.Token{}, err
	}
	var claims string
	if o.Claims != "" {
		if claims, err = oauth.DecodeClaimsChallenge(o.Claims); err != nil {
			return wire.Token{}, control.Usagef("claims: %v", err)
		}
	}
	t, err := b.engine.TokenFor(ctx, name, engine.TokenRequest{Scopes: o.Scopes, MinValid: o.MinValid, Claims: claims})
	if err != nil {
		if errors.Is(err, engine.ErrResource) {
			return wire.Token{}, &control.CodedError{Code: wire.CodeFailure, Err: err}
		}
		return wire.Token{}, signInError(name, err)
	}
	b.recordToken(ctx, name, o.Scopes)
	return wire.Token{AccessToken: t.Token, Type: t.Type, Expiry: t.Expiry, Lifetime: t.Lifetime,
		ShorterThanAsked: t.ShorterThanAsked, Scopes: t.Scopes, Username: t.Username}, nil
}

// recordToken notes that a token of account was handed out: by the keeper
// to the process on the other end of the socket (from its peer
// credentials; pid 0 where the OS does not tell), or, in-process, to the
// program that ran this command (this process only carries the token).
func (b *Backend) recordToken(ctx context.Context, account string, scopes []string) {
	e := accesslog.Entry{Account: account, Scopes: askedScopes(scopes)}
	if b.access != nil {
		p, _ := control.PeerFrom(ctx)
		e.PID, e.Exe, e.ParentPID, e.ParentExe, e.ParentScript = p.PID, p.Exe, p.ParentPID, p.ParentExe, p.ParentScript
		e.Client, e.Via = control.ClientFrom(ctx), accesslog.ViaKeeper
		endpointPeer(ctx, &e)
		if err := b.access.Record(e); err != nil {
			b.log.Warn("access log: entry kept in memory only", "error", err)
		}
		return
	}
	e.PID, e.ParentPID = os.Getpid(), os.Getppid()
	e.Exe, _ = os.Executable()
	e.ParentExe = control.ProcessExe(e.ParentPID)
	e.ParentScript = control.ProcessScript(e.ParentPID, e.ParentExe)
	e.Client, e.Via = b.o.Version, accesslog.ViaInProcess
	if err := accesslog.Append(AccessLogPath(b.stateDir), e); err != nil {
		b.log.Warn("access log: entry not written", "error", err)
	}
}

// askedScopes is the scope set a token request named, normalised (sorted,
// no duplicates); nil for the account's own scopes (and for a set the
// engine refused, which never reaches the log).
func askedScopes(scopes []string) []string {
	n, err := state.NormalizeScopes(scopes)
	if err != nil || len(n) == 0 {
		return nil
	}
	return n
}

// AccessLog returns up to limit tokens handed out, newest first, of account
// ("" for every account): the keeper's log, or in-process the file.
func (b *Backend) AccessLog(ctx context.Context, account string, limit int) ([]accesslog.Entry, error) {
	if b.access == nil {
		return accesslog.Read(AccessLogPath(b.stateDir), account, limit)
	}
	if account != "" {
		s := b.engine.Snapshot()
		if _, ok := s.Account(account); !ok && len(b.access.Recent(account, 1)) == 0 {
			return nil, unknownAccount(s, account)
		}
	}
	return b.access.Recent(account, limit), nil
}

// Refresh forces a refresh of account, or of every account with all or
// account "", and returns the results of those that did not fail, and the
// failures joined with the most specific exit code. The user asked: a
// keychain prompt may appear.
func (b *Backend) Refresh(ctx context.Context, account string, all bool) ([]state.Result, error) {
	ctx = vault.Interactive(ctx)
	var names []string
	if all || account == "" {
		for _, a := range b.engine.Snapshot().Accounts {
			names = append(names, a.Name)
		}
	} else {
		name, err := b.pick(account)
		if err != nil {
			return nil, err
		}
		names = []string{name}
	}
	var results []state.Result
	var errs []error
	for _, n := range names {
		res, err := b.engine.RefreshNow(ctx, n)
		if err != nil {
			errs = append(errs, signInError(n, fmt.Errorf("%s: %w", n, err)))
			continue
		}
		results = append(results, res)
	}
	return results, joinCoded(errs)
}
