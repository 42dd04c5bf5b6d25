package engine

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateFile is the persisted per-account state: what must survive a restart
// so that a restarted app neither hammers an ended grant nor forgets a
// Retry-After. It holds no secrets.
type stateFile struct {
	Version  int                     `json:"version"`
	Accounts map[string]stateAccount `json:"accounts"`
}

type stateAccount struct {
	SignedIn        bool       `json:"signed_in"`
	State           State      `json:"state"`
	Reason          string     `json:"reason,omitempty"`
	LastAttempt     time.Time  `json:"last_attempt,omitzero"`
	LastSuccess     time.Time  `json:"last_success,omitzero"`
	Fresh           bool       `json:"fresh,omitempty"`
	Failures        int        `json:"failures,omitempty"`
	BackoffUntil    time.Time  `json:"backoff_until,omitzero"`
	RetryAfterUntil time.Time  `json:"retry_after_until,omitzero"`
	LastError       *ErrorInfo `json:"last_error,omitempty"`
	Notified        string     `json:"notified,omitempty"`
	History         []Event    `json:"history,omitempty"`
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
	a.notified = s.Notified
	switch s.State {
	case NeedsSignIn, BackingOff, Failing:
		a.state = s.State
	default:
		a.state = SignedOut // until Run or a flight reads the vault
		if s.SignedIn {
			a.state = OK
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
		a.history = append(a.history, event{at: ev.At.UnixNano(), expiry: exp, ok: ev.Kind == EventOK, fresh: ev.Fresh})
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
			f := e.stateLocked()
			e.mu.Unlock()
			b, err := json.MarshalIndent(f, "", "  ")
			if err == nil {
				err = writeAtomic(e.statePath, b)
			}
			if err != nil {
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

func (e *Engine) stateLocked() stateFile {
	now := e.now()
	f := stateFile{Version: stateVersion, Accounts: make(map[string]stateAccount, len(e.accts))}
	for _, a := range e.accts {
		st := a.state
		if st == StorageDegraded {
			st = OK // the in-memory pair does not survive a restart
		}
		f.Accounts[a.name] = stateAccount{
			SignedIn: a.haveEnv, State: st, Reason: a.reason,
			LastAttempt: a.lastAttempt, LastSuccess: a.lastSuccess, Fresh: a.fresh,
			Failures: a.failures, BackoffUntil: a.backoffUntil, RetryAfterUntil: a.retryAfterUntil,
			LastError: a.lastErr, Notified: a.notified, History: a.events(now),
		}
	}
	return f
}

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
