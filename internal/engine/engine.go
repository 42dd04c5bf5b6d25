package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// store is the secret storage the engine needs (vault.Keychain, vault.File,
// vault.Memory). Load returns an error matching vault.ErrNotFound when the
// account has no envelope.
type store interface {
	Load(ctx context.Context, account string) (vault.Envelope, error)
	Save(ctx context.Context, account string, e vault.Envelope) error
	Delete(ctx context.Context, account string) error
	List(ctx context.Context) ([]string, error)
}

// refresher performs the forced refresh_token grant (*oauth.Client).
type refresher interface {
	Refresh(ctx context.Context, p oauth.Profile, refreshToken, prevAccess string) (oauth.Token, error)
}

// signer is the optional sign-in side of a refresher (*oauth.Client).
type signer interface {
	LoginBrowser(ctx context.Context, p oauth.Profile, o oauth.BrowserOptions) (oauth.Token, error)
	LoginDevice(ctx context.Context, p oauth.Profile, show func(oauth.DeviceCode)) (oauth.Token, error)
	Revoke(ctx context.Context, p oauth.Profile, refreshToken string) error
}

// Account is one configured account: its name and how to reach its provider.
type Account struct {
	Name    string
	Profile oauth.Profile
}

// Options configure an Engine. Store and Refresher are required.
type Options struct {
	Settings  config.Settings // taken once; changes apply on the next New
	Store     store
	Refresher refresher // also used for sign-in and revocation if it has those methods
	Accounts  []Account // the initial account set; AddAccount and RemoveAccount change it
	// StatePath is the JSON file with per-account state that must survive a
	// restart (no secrets). "" keeps state in memory only.
	StatePath string
	// LockDir holds the cross-process lock files "<account>.lock". "" means
	// in-process locking only.
	LockDir string
	Logger  *slog.Logger // nil: discard
	Rand    *rand.Rand   // nil: seeded from the clock; used for jitter
}

// Engine owns every account's token state: it schedules and performs
// refreshes, signs in and out, and publishes snapshots. Its methods are safe
// for concurrent use.
type Engine struct {
	pol       policy
	store     store
	ref       refresher
	sign      signer // nil if Refresher cannot sign in
	kind      string // storage kind for snapshots
	statePath string
	lockDir   string
	log       *slog.Logger
	wall      func() time.Time // wall clock without monotonic reading; a test hook
	kick      chan struct{}    // wakes Run after a state change; cap 1
	persistC  chan struct{}    // serialises state-file writes; cap 1
	running   chan struct{}    // cap 1: held while Run runs

	mu       sync.Mutex // guards the fields below and every account's guarded fields; never held across blocking work
	accts    []*account // the live account set, in the order the accounts were added
	byName   map[string]*account
	rnd      *rand.Rand
	bud      *budget
	counters state.Counters
	subs     map[chan state.Snapshot]struct{}
	dirty    []*account // changed since Run last recomputed their due times
	// persistPending is set when the state file needs writing.
	persistPending bool
	// skew is how far the provider's clock ran ahead of the local one
	// (> clockSlack) in the token response received at skewSince; 0 if not.
	skew      time.Duration
	skewSince time.Time
	// dropState lists removed accounts whose entries the next state-file
	// write deletes.
	dropState map[string]bool
	stateSeen stateStamp // the state file as this engine last wrote or read it
}

// New returns an engine for opts.Accounts with opts.Settings. It reads the
// persisted state file (a missing or unparsable file is a fresh start) but
// no secrets; Load (called by Run) reads the envelopes. The account set can
// change later with AddAccount and RemoveAccount.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Refresher == nil {
		return nil, errors.New("engine: Store and Refresher are required")
	}
	p := policyFrom(opts.Settings)
	if p.interval <= 0 || p.base <= 0 || p.max <= 0 || p.budgetN <= 0 || p.budgetWin <= 0 {
		return nil, errors.New("engine: settings are not validated (interval, backoff and budget must be positive)")
	}
	e := &Engine{
		pol:       p,
		store:     opts.Store,
		ref:       opts.Refresher,
		kind:      "unknown",
		byName:    map[string]*account{},
		statePath: opts.StatePath,
		lockDir:   opts.LockDir,
		log:       opts.Logger,
		wall:      func() time.Time { return time.Now().Round(0) },
		kick:      make(chan struct{}, 1),
		persistC:  make(chan struct{}, 1),
		running:   make(chan struct{}, 1),
		rnd:       opts.Rand,
		bud:       newBudget(p.budgetN, p.budgetWin),
		counters:  state.Counters{RefreshFailedTotal: map[string]int{}},
		subs:      map[chan state.Snapshot]struct{}{},
	}
	if s, ok := opts.Refresher.(signer); ok {
		e.sign = s
	}
	if k, ok := opts.Store.(interface{ Kind() string }); ok {
		e.kind = k.Kind()
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.rnd == nil {
		seed := uint64(time.Now().UnixNano())
		e.rnd = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	for i, a := range opts.Accounts {
		if a.Name == "" {
			return nil, fmt.Errorf("engine: account %d has no name", i)
		}
		if _, dup := e.byName[a.Name]; dup {
			return nil, fmt.Errorf("engine: account %q is listed twice", a.Name)
		}
		acc := newAccount(a)
		e.accts = append(e.accts, acc)
		e.byName[a.Name] = acc
	}
	if err := e.restore(); err != nil {
		return nil, err
	}
	return e, nil
}

// now is the wall clock, stripped of its monotonic reading so that a suspend
// (during which the monotonic clock stops) cannot hide a due time.
func (e *Engine) now() time.Time { return e.wall() }

func (e *Engine) account(name string) (*account, error) {
	e.mu.Lock()
	a, ok := e.byName[name]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("account %q: %w", name, ErrUnknownAccount)
	}
	return a, nil
}

// accounts returns the live account set as it is now, in insertion order.
func (e *Engine) accounts() []*account {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.accts)
}

// changed marks a as needing a new due time, wakes Run and publishes a
// snapshot. Called with e.mu held.
func (e *Engine) changedLocked(a *account) {
	if !a.dirty {
		a.dirty = true
		e.dirty = append(e.dirty, a)
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
	e.publishLocked()
}

// Run schedules automatic refreshes until ctx ends, then waits for the
// refreshes it started and returns ctx's error. One goroutine owns the
// schedule (a heap of next-due times); it wakes at the earliest due time but
// at least every 60 s, and compares due times with the wall clock, so a
// refresh that became due during a suspend runs within a minute of resume.
// A refresh that has reached the provider when ctx ends is completed and
// its answer saved before Run returns (bounded: 30 s each for the answer and
// the save). Only one Run may be active per engine.
func (e *Engine) Run(ctx context.Context) error {
	select {
	case e.running <- struct{}{}:
	default:
		return errors.New("engine: Run is already running")
	}
	defer func() { <-e.running }()

	var wg sync.WaitGroup
	defer wg.Wait()

	e.Load(ctx)
	e.mu.Lock()
	sched := newSchedule(len(e.accts))
	for _, a := range e.accts {
		if !a.dirty {
			a.dirty = true
			e.dirty = append(e.dirty, a)
		}
	}
	e.mu.Unlock()

	timer := time.NewTimer(0)
	defer timer.Stop()
	var last time.Time
	for {
		now := e.now()
		if !last.IsZero() && now.Before(last.Add(-clockSlack)) {
			e.steppedBack(last.Sub(now))
		}
		last = now
		e.watchState()
		e.reschedule(sched, now)
		for {
			a, ok := sched.popDue(now.UnixNano())
			if !ok {
				break
			}
			if d, ok := e.fire(ctx, &wg, a, now); ok {
				sched.set(a, d.UnixNano())
			}
		}
		wait := maxSleep
		if d, ok := sched.peek(); ok {
			wait = min(max(time.Duration(d-now.UnixNano()), 0), maxSleep)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-e.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// maxSleep is the longest the scheduler sleeps at a stretch (invariant 6).
const maxSleep = 60 * time.Second

// reschedule recomputes the due time of every account that changed, and
// drops removed accounts from the schedule.
func (e *Engine) reschedule(s *schedule, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.dirty {
		a.dirty = false
		if d, ok := e.dueLocked(a, now); ok && !a.removed() {
			s.set(a, d.UnixNano())
		} else {
			s.remove(a)
		}
	}
	clear(e.dirty) // no pointers kept to removed accounts
	e.dirty = e.dirty[:0]
}

// fire starts the due work of a in a goroutine owned by Run, or returns a
// later time to try again (budget spent). A refresh it starts has already
// spent its budget request.
func (e *Engine) fire(ctx context.Context, wg *sync.WaitGroup, a *account, now time.Time) (again time.Time, retry bool) {
	e.mu.Lock()
	if a.busy || a.removed() {
		// A flight is running (it marks a dirty when it ends), or a is gone.
		e.mu.Unlock()
		return time.Time{}, false
	}
	save := a.unsaved && !a.saveRetryAt.After(now)
	if !save {
		// Automatic refreshes pay the budget here, so a burst of due
		// accounts starts only as many flights as the budget allows.
		if ok, u := e.bud.take(now.UnixNano()); !ok {
			a.deferUntil = time.Unix(0, u)
			e.counters.RefreshSkippedTotal++
			e.publishLocked()
			e.mu.Unlock()
			return a.deferUntil, true
		}
	}
	e.mu.Unlock()
	wg.Go(func() {
		var err error
		if save {
			err = e.retrySave(ctx, a)
		} else {
			_, err = e.run(ctx, a, job{mode: modeAuto})
		}
		if errors.Is(err, errBusy) {
			// Another caller holds the flight without having marked the
			// account busy yet; look again in a second.
			e.mu.Lock()
			a.deferUntil = e.now().Add(time.Second)
			e.changedLocked(a)
			e.mu.Unlock()
		}
	})
	return time.Time{}, false
}

// dueLocked is when a's next automatic action is due; ok is false when none
// is planned (signed out; needs sign-in or automatic refresh disabled, and no
// unsaved pair to save).
func (e *Engine) dueLocked(a *account, now time.Time) (time.Time, bool) {
	if !a.haveEnv {
		return time.Time{}, false
	}
	var due time.Time
	have := false
	if a.state != state.NeedsSignIn && e.pol.enabled {
		have = true
		if a.failures > 0 {
			due = a.backoffUntil
		} else {
			due = e.pol.autoDue(dueInputs{lastSuccess: a.lastSuccess, lastAttempt: a.lastAttempt, accessExpiry: a.env.Expiry, jitter: a.jitter})
		}
		if a.retryAfterUntil.After(due) {
			due = a.retryAfterUntil
		}
		if a.deferUntil.After(due) {
			due = a.deferUntil
		}
	}
	if a.unsaved && (!have || a.saveRetryAt.Before(due)) {
		due, have = a.saveRetryAt, true
	}
	return due, have
}

// loadConcurrency is how many envelopes Load reads at once, so a keychain
// that hangs until its timeout delays start-up by ⌈N/4⌉ timeouts, not N.
const loadConcurrency = 4

// Load reads every account's envelope from the vault so that the snapshot
// shows who is signed in, up to loadConcurrency at a time, and returns when
// all have been read or ctx has ended. Run calls it first; a process that
// only calls Token or RefreshNow does not need it (they read the vault
// themselves). A storage failure puts the account in backing_off with a
// storage error.
func (e *Engine) Load(ctx context.Context) {
	sem := make(chan struct{}, loadConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, a := range e.accounts() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			env, err := e.store.Load(ctx, a.name)
			if ctx.Err() != nil {
				return // not an answer about the account
			}
			e.mu.Lock()
			if !a.removed() {
				e.loadedLocked(a, env, err)
				e.changedLocked(a)
			}
			e.mu.Unlock()
		})
	}
}

// loadedLocked takes the result of reading a's envelope from the store.
func (e *Engine) loadedLocked(a *account, env vault.Envelope, err error) {
	switch {
	case a.unsaved:
		// Keep the held pair: its save retry compares it with the store.
	case err == nil && env.RefreshToken == "":
		// Only a confidential client's secret, stored before sign-in.
		if !a.unsaved {
			e.signedOutLocked(a)
			a.env.ClientSecret = env.ClientSecret
		}
	case err == nil:
		e.adoptLocked(a, env)
	case errors.Is(err, vault.ErrNotFound):
		if !a.unsaved {
			e.signedOutLocked(a)
		}
	default:
		// Storage unusable right now: back off and try again (a refresh
		// re-reads the vault; a missing envelope then means signed out).
		if a.state != state.NeedsSignIn {
			a.haveEnv = true
			e.failLocked(a, err, state.ClassStorage, e.now())
		}
	}
}
