package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gofrs/flock"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// stateFile is the persisted per-account state: what must survive a restart
// so that a restarted app neither hammers an ended grant nor forgets a
// Retry-After. It holds no secrets.
type stateFile struct {
	Version  int                     `json:"version"`
	Accounts map[string]stateAccount `json:"accounts"`
}

type stateAccount struct {
	SignedIn        bool             `json:"signed_in"`
	State           state.State      `json:"state"`
	Reason          string           `json:"reason,omitempty"`
	LastAttempt     time.Time        `json:"last_attempt,omitzero"`
	LastSuccess     time.Time        `json:"last_success,omitzero"`
	Fresh           bool             `json:"fresh,omitempty"`
	Failures        int              `json:"failures,omitempty"`
	BackoffUntil    time.Time        `json:"backoff_until,omitzero"`
	RetryAfterUntil time.Time        `json:"retry_after_until,omitzero"`
	LastError       *state.ErrorInfo `json:"last_error,omitempty"`
	History         []state.Event    `json:"history,omitempty"`

	// Radar is the expiry radar's record (radar.go); absent in older files.
	Radar *radarRecord `json:"radar,omitempty"`
}

const stateVersion = 1

// restore loads the state file into the accounts. A missing file is a fresh
// start; an unreadable one is logged and ignored (it holds no secrets, and
// the vault is still the truth about tokens).
func (e *Engine) restore() error {
	f, err := e.readState()
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, s := range f.Accounts {
		if a, ok := e.byName[name]; ok {
			restoreAccount(a, s, now)
			e.clampLocked(a, now)
			e.syncedLocked(a, s, now)
		}
	}
	return nil
}

// readState reads the state file. A missing file, or one that does not
// parse, reads as empty (the latter is logged).
func (e *Engine) readState() (stateFile, error) {
	if e.statePath == "" {
		return stateFile{}, nil
	}
	b, err := os.ReadFile(e.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{}, nil
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("read state file: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version != stateVersion {
		e.log.Warn("ignoring unreadable engine state file", "path", e.statePath)
		return stateFile{}, nil
	}
	return f, nil
}

// restoreAccount applies a's entry of the state file. The caller holds
// Engine.mu or is the only one who knows a.
func restoreAccount(a *account, s stateAccount, now time.Time) {
	a.persistedSignedIn = s.SignedIn
	a.reason = s.Reason
	a.lastAttempt = s.LastAttempt.Round(0)
	a.lastSuccess = s.LastSuccess.Round(0)
	a.fresh = s.Fresh
	a.failures = max(s.Failures, 0)
	a.backoffUntil = s.BackoffUntil.Round(0)
	a.retryAfterUntil = s.RetryAfterUntil.Round(0)
	a.lastErr = s.LastError
	if s.Radar != nil {
		a.radar = *s.Radar
	}
	switch s.State {
	case state.NeedsSignIn, state.BackingOff, state.Failing:
		a.state = s.State
	default:
		a.state = state.SignedOut // until Run or a flight reads the vault
		if s.SignedIn {
			a.state = state.OK
		}
	}
	for _, ev := range s.History {
		if now.Sub(ev.At) > historyWindow {
			continue
		}
		var exp int64
		if !ev.Expiry.IsZero() {
			exp = ev.Expiry.UnixNano()
		}
		a.history = append(a.history, event{at: ev.At.UnixNano(), expiry: exp, ok: ev.Kind == state.EventOK, fresh: ev.Fresh})
	}
	slices.SortFunc(a.history, func(x, y event) int { return cmp.Compare(x.at, y.at) })
	if len(a.history) > historyCap {
		a.history = a.history[len(a.history)-historyCap:]
	}
}

// persist writes the state file atomically. Concurrent calls coalesce: a
// caller that finds a write running leaves its change to that writer, which
// writes again (with the newest state) after it finishes.
func (e *Engine) persist() { e.persistState(false) }

// persistWait is persist, but returns only once the state as it is at the
// call has reached the file (or failed to, which is logged).
func (e *Engine) persistWait() { e.persistState(true) }

func (e *Engine) persistState(wait bool) {
	if e.statePath == "" {
		return
	}
	e.mu.Lock()
	e.persistPending = true
	e.mu.Unlock()
	for {
		if wait {
			// Once we hold persistC, either our change is still pending
			// (we write it) or a writer took it and finished writing.
			e.persistC <- struct{}{}
			wait = false
		} else {
			select {
			case e.persistC <- struct{}{}:
			default:
				return // the running writer will see persistPending
			}
		}
		for {
			e.mu.Lock()
			if !e.persistPending {
				e.mu.Unlock()
				break
			}
			e.persistPending = false
			e.mu.Unlock()
			if err := e.writeMerged(); err != nil {
				e.log.Warn("could not write engine state file", "path", e.statePath, "error", err)
			}
		}
		<-e.persistC
		e.mu.Lock()
		again := e.persistPending
		e.mu.Unlock()
		if !again {
			return
		}
	}
}

// entryLocked is a's state-file entry as this engine sees it at now.
func (e *Engine) entryLocked(a *account, now time.Time) stateAccount {
	st := a.state
	if st == state.StorageDegraded {
		st = state.OK // the in-memory pair does not survive a restart
	}
	return stateAccount{
		SignedIn: a.haveEnv, State: st, Reason: a.reason,
		LastAttempt: a.lastAttempt, LastSuccess: a.lastSuccess, Fresh: a.fresh,
		Failures: a.failures, BackoffUntil: a.backoffUntil, RetryAfterUntil: a.retryAfterUntil,
		LastError: a.lastErr, History: a.events(now),
		Radar: radarEntry(a),
	}
}

// sameEntry reports whether two entries record the same state; history,
// which ages by itself, is left out.
func sameEntry(x, y stateAccount) bool {
	x.History, y.History = nil, nil
	bx, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return string(bx) == string(by)
}

// writeMerged writes the state file under its lock file, merged per
// account: the entries of accounts this engine changed since it last synced
// them are replaced, every other entry (another process's, or one it
// recorded for our accounts, which we pick up) is kept, removed accounts
// are deleted. Several processes thus never lose each other's records.
func (e *Engine) writeMerged() error {
	now := e.now()
	e.mu.Lock()
	mine := make(map[*account]stateAccount, len(e.accts))
	for _, a := range e.accts {
		mine[a] = e.entryLocked(a, now)
	}
	drop := e.dropState
	e.dropState = nil
	e.mu.Unlock()

	unlock, err := lockStateFile(e.statePath)
	if err != nil {
		e.log.Warn("state file lock not taken; writing without it", "path", e.statePath, "error", err)
	} else {
		defer unlock()
	}
	f, err := e.readState()
	if err != nil {
		return err
	}
	if f.Accounts == nil {
		f.Accounts = map[string]stateAccount{}
	}
	f.Version = stateVersion
	for name := range drop {
		delete(f.Accounts, name)
	}
	e.mu.Lock()
	for a, cur := range mine {
		if a.removed() {
			delete(f.Accounts, a.name)
			continue
		}
		theirs, has := f.Accounts[a.name]
		if has && (!a.haveSynced || !sameEntry(theirs, a.synced)) {
			// Another process recorded something since we last synced.
			e.pickUpLocked(a, theirs, now)
			cur = e.entryLocked(a, now)
		}
		if has && a.haveSynced && sameEntry(cur, a.baseline) {
			// Unchanged here since the last sync: keep the file's entry.
			continue
		}
		f.Accounts[a.name] = cur
		e.syncedLocked(a, cur, now)
	}
	e.mu.Unlock()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(e.statePath, b); err != nil {
		return err
	}
	e.mu.Lock()
	e.stateSeen = stampOf(e.statePath)
	e.mu.Unlock()
	return nil
}

// pickUpLocked merges s, what another process recorded for a, into a: a
// later attempt's failures and backoff, a longer Retry-After, and an ended
// grant (needs sign-in) recorded after a's last success. It never touches
// tokens: the vault is their truth.
func (e *Engine) pickUpLocked(a *account, s stateAccount, now time.Time) {
	pickUpRadar(a, s.Radar, now)
	if s.RetryAfterUntil.After(a.retryAfterUntil) {
		a.retryAfterUntil = notAfter(s.RetryAfterUntil.Round(0), now.Add(oauth.MaxRetryAfter))
	}
	later := s.LastAttempt.After(a.lastAttempt)
	if later {
		a.lastAttempt = notAfter(s.LastAttempt.Round(0), now)
	}
	if s.LastSuccess.After(a.lastSuccess) {
		a.lastSuccess = notAfter(s.LastSuccess.Round(0), now)
	}
	switch {
	case s.State == state.NeedsSignIn && a.state != state.NeedsSignIn && s.LastAttempt.After(a.lastSuccess):
		a.state, a.reason, a.failures = state.NeedsSignIn, s.Reason, max(s.Failures, 1)
		a.backoffUntil, a.lastErr = time.Time{}, s.LastError
	case later && s.Failures > 0 && (s.State == state.BackingOff || s.State == state.Failing) && a.state != state.NeedsSignIn:
		a.failures, a.backoffUntil, a.lastErr = s.Failures, s.BackoffUntil.Round(0), s.LastError
		a.state, a.reason = s.State, s.Reason
	}
	e.changedLocked(a)
}

// syncedLocked records that a's entry in the state file is s, and that a,
// as it is now, is in step with it.
func (e *Engine) syncedLocked(a *account, s stateAccount, now time.Time) {
	a.synced, a.baseline, a.haveSynced = s, e.entryLocked(a, now), true
}

// syncState picks up what other processes recorded in the state file for
// a, or for every account if a is nil.
func (e *Engine) syncState(a *account) {
	if e.statePath == "" {
		return
	}
	stamp := stampOf(e.statePath)
	f, err := e.readState()
	if err != nil {
		return
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stateSeen = stamp
	for _, x := range e.accts {
		if a != nil && x != a {
			continue
		}
		if s, ok := f.Accounts[x.name]; ok && (!x.haveSynced || !sameEntry(s, x.synced)) {
			e.pickUpLocked(x, s, now)
			e.syncedLocked(x, s, now)
		}
	}
}

// watchState calls syncState when the state file changed since this engine
// last wrote or read it (a cheap stat; Run calls it at every wake).
func (e *Engine) watchState() {
	if e.statePath == "" {
		return
	}
	stamp := stampOf(e.statePath)
	e.mu.Lock()
	same := stamp == e.stateSeen
	e.mu.Unlock()
	if !same {
		e.syncState(nil)
	}
}

// stateStamp identifies a version of the state file.
type stateStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) stateStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stateStamp{}
	}
	return stateStamp{fi.ModTime(), fi.Size()}
}

// lockStateFile takes "<state file>.lock", waiting at most stateLockWait.
func lockStateFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	fl := flock.New(path+".lock", flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(context.Background(), stateLockWait)
	defer cancel()
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if err != nil || !ok {
		_ = fl.Close()
		if err == nil {
			err = errors.New("not acquired")
		}
		return nil, fmt.Errorf("lock %s: %w", path+".lock", err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// stateLockWait bounds the wait for another process's state-file write.
const stateLockWait = 5 * time.Second

// writeAtomic replaces path with data (0600, parent 0700) via a rename, so
// a reader sees the old or the new file, never a mix.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data) // no fsync: the file is advisory state, rewritten after every refresh
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}
