package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// The fault matrix: 20 accounts against a simulator that injects every fault
// it knows at random, under every rotation policy, for days of fake time.
// TOKENTRAY_SOAK=1 runs the long version (90 days); TOKENTRAY_SOAK_SEED
// replays a seed printed by a failed run.

const (
	soakEnv      = "TOKENTRAY_SOAK"
	soakSeedEnv  = "TOKENTRAY_SOAK_SEED"
	soakAccounts = 20
	calmSpan     = 3 * time.Hour // faults off at the end: every account must recover
)

// ending is how the simulator ends an account's grant.
type ending struct {
	label string
	fault *idpsim.Fault // nil: the grant is revoked and served normally (natural 50173)
}

// endings lists every permanent error: each InvalidGrantCodes entry,
// interaction_required, consent_required and a plain revocation. Account i
// < len(endings) ends with endings[i]; the others never end.
func endings() []ending {
	var out []ending
	for _, code := range idpsim.InvalidGrantCodes {
		out = append(out, ending{fmt.Sprintf("invalidgrant/%d", code), &idpsim.Fault{Kind: idpsim.InvalidGrant, Code: code}})
	}
	return append(out,
		ending{"interactionrequired", &idpsim.Fault{Kind: idpsim.InteractionRequired}},
		ending{"consentrequired", &idpsim.Fault{Kind: idpsim.ConsentRequired}},
		ending{"revoked", nil},
	)
}

// transientKinds are the faults a refresh must survive.
var transientKinds = []idpsim.FaultKind{
	idpsim.Throttle429, idpsim.Unavailable503, idpsim.ServerError500, idpsim.Delay, idpsim.ConnReset,
	idpsim.MalformedJSON, idpsim.HugeBody, idpsim.HTMLError, idpsim.TemporarilyUnavailable,
}

// attempt is one token request as the fault function saw it.
type attempt struct {
	start  time.Time
	fault  *idpsim.Fault // nil: served normally
	ending bool          // this request ended the grant
}

// faultPlan decides, per account and reproducibly from the seed, what each
// token request gets. Its methods are safe for concurrent use.
type faultPlan struct {
	sim     *idpsim.Server
	mu      sync.Mutex
	index   map[string]int // client id → account index
	subject []string
	rnd     []*rand.Rand
	log     [][]attempt
	outage  []int // faulted requests left in the current outage
	endAt   []time.Time
	endWith []ending
	ended   []bool
	calm    bool
	counts  map[string]int // faults served, by label
	// hugeLeft caps the 5 MiB bodies per account (< 0: no cap): copying
	// them dominates the run time under -race in the short version.
	hugeLeft []int
}

func newFaultPlan(sim *idpsim.Server, seed uint64, span time.Duration, start time.Time, hugeCap int) *faultPlan {
	p := &faultPlan{sim: sim, index: map[string]int{}, counts: map[string]int{}}
	ends := endings()
	for i := range soakAccounts {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		p.index[soakClient(i)] = i
		p.subject = append(p.subject, fmt.Sprintf("soak%d@idpsim.test", i))
		p.rnd = append(p.rnd, r)
		p.log = append(p.log, nil)
		p.outage = append(p.outage, 0)
		p.ended = append(p.ended, false)
		p.hugeLeft = append(p.hugeLeft, hugeCap)
		var at time.Time
		var e ending
		if i < len(ends) {
			at = start.Add(span/10 + time.Duration(r.Int64N(int64(span*8/10))))
			e = ends[i]
		}
		p.endAt = append(p.endAt, at)
		p.endWith = append(p.endWith, e)
	}
	return p
}

func soakClient(i int) string { return fmt.Sprintf("soak-client-%d", i) }

// decide is the simulator's fault function.
func (p *faultPlan) decide(r *http.Request) *idpsim.Fault {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[r.Form.Get("client_id")]
	if !ok {
		return nil
	}
	a := attempt{start: now}
	defer func() { p.log[i] = append(p.log[i], a) }()
	if p.ended[i] {
		return nil // the grant is over: the simulator answers invalid_grant by itself
	}
	if !p.endAt[i].IsZero() && !now.Before(p.endAt[i]) {
		p.ended[i], a.ending = true, true
		p.sim.RevokeGrant(p.subject[i])
		p.counts[p.endWith[i].label]++
		if f := p.endWith[i].fault; f != nil {
			c := *f
			a.fault = &c
			return &c
		}
		return nil
	}
	if p.calm {
		return nil
	}
	rnd := p.rnd[i]
	if p.outage[i] == 0 {
		if rnd.Float64() >= 0.2 {
			return nil
		}
		// An outage: mostly short, sometimes longer than max_failures.
		n := 1 + rnd.IntN(3)
		if rnd.Float64() < 0.25 {
			n = 4 + rnd.IntN(12)
		}
		p.outage[i] = n
	}
	p.outage[i]--
	f := randomTransient(rnd)
	for f.Kind == idpsim.HugeBody && p.hugeLeft[i] == 0 {
		f = randomTransient(rnd)
	}
	if f.Kind == idpsim.HugeBody && p.hugeLeft[i] > 0 {
		p.hugeLeft[i]--
	}
	p.counts[faultLabel(f)]++
	a.fault = f
	return f
}

// randomTransient draws one transient fault with its parameters.
func randomTransient(r *rand.Rand) *idpsim.Fault {
	f := &idpsim.Fault{Kind: transientKinds[r.IntN(len(transientKinds))]}
	switch f.Kind {
	case idpsim.Throttle429, idpsim.Unavailable503:
		if r.IntN(3) > 0 {
			f.RetryAfter = time.Duration(1+r.IntN(3600)) * time.Second
			f.RetryAfterDate = r.IntN(4) == 0
		}
	case idpsim.Delay:
		if r.IntN(2) == 0 {
			f.Delay = time.Duration(1+r.IntN(20)) * time.Second // served after the delay
		} else {
			f.Delay = time.Duration(45+r.IntN(120)) * time.Second // the client times out
		}
	}
	if f.Kind != idpsim.Delay && r.IntN(10) == 0 {
		f.Delay = time.Duration(1+r.IntN(10)) * time.Second
	}
	return f
}

func faultLabel(f *idpsim.Fault) string {
	l := f.Kind.String()
	switch {
	case f.Kind == idpsim.Delay && f.Delay > oauth.DefaultTimeout:
		l += "/timeout"
	case f.RetryAfterDate:
		l += "/retry-after-date"
	case f.RetryAfter > 0:
		l += "/retry-after"
	}
	return l
}

// outcome of one attempt, from the simulator's record.
type outcome int

const (
	success outcome = iota
	transientFail
	permanentFail
)

func classify(a attempt, rec idpsim.RequestRecord) outcome {
	switch {
	case rec.Error == "invalid_grant" || rec.Error == "interaction_required" || rec.Error == "consent_required":
		return permanentFail
	case rec.Status == 200 && (a.fault == nil || a.fault.Kind == idpsim.Delay):
		return success
	}
	return transientFail
}

// end is when the engine saw the answer to a.
func (a attempt) end() time.Time {
	if a.fault == nil {
		return a.start
	}
	return a.start.Add(min(a.fault.Delay, oauth.DefaultTimeout))
}

// backoffRule is the least delay after the k-th transient failure in a row,
// written from the settings' documentation, not from the engine's code:
// base·2^(k-1) capped at max (max from max_failures on), less 20 % jitter.
func backoffRule(s config.Settings, k int) time.Duration {
	d := s.Backoff.Max
	if k < s.Backoff.MaxFailures {
		d = s.Backoff.Base
		for i := 1; i < k && d < s.Backoff.Max; i++ {
			d *= 2
		}
		d = min(d, s.Backoff.Max)
	}
	return d * 8 / 10
}

// secretScan fails the test if a simulator token prefix reaches a log line.
type secretScan struct {
	mu    sync.Mutex
	leaks int
	lines int
}

func (s *secretScan) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines += bytes.Count(p, []byte("\n"))
	for _, pre := range []string{idpsim.AccessPrefix, idpsim.RefreshPrefix, idpsim.CodePrefix, idpsim.DevicePrefix} {
		if bytes.Contains(p, []byte(pre)) {
			s.leaks++
		}
	}
	return len(p), nil
}

func leaks(s string) bool {
	for _, pre := range []string{idpsim.AccessPrefix, idpsim.RefreshPrefix, idpsim.CodePrefix, idpsim.DevicePrefix} {
		if strings.Contains(s, pre) {
			return true
		}
	}
	return false
}

func TestSoakFaultMatrix(t *testing.T) {
	span, hugeCap := 7*24*time.Hour, 2
	if os.Getenv(soakEnv) == "1" {
		span, hugeCap = 90*24*time.Hour, -1
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(soakSeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", soakSeedEnv, v, err)
		}
		seed = n
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault matrix failed with seed %d; replay with %s=%d", seed, soakSeedEnv, seed)
		}
	})
	for _, rot := range []idpsim.Rotation{idpsim.MicrosoftLike, idpsim.GraceWindow, idpsim.Strict} {
		t.Run(rot.String(), func(t *testing.T) {
			wall := time.Now()
			synctest.Test(t, func(t *testing.T) { runFaultMatrix(t, rot, seed, span, hugeCap) })
			t.Logf("RELIABILITY faultmatrix rotation=%s seed=%d wall=%v", rot, seed, time.Since(wall).Round(time.Millisecond))
		})
	}
}

func runFaultMatrix(t *testing.T, rot idpsim.Rotation, seed uint64, span time.Duration, hugeCap int) {
	start := time.Now()
	sim := idpsim.New(idpsim.Options{Rotation: rot})
	plan := newFaultPlan(sim, seed, span, start, hugeCap)
	sim.SetFaults(plan.decide)

	s := config.Defaults()
	// Below the configurable minimum (50 per 5 min), so that the cap binds
	// with only 20 accounts when their outages overlap.
	s.Budget.Requests, s.Budget.Window = 20, 5*time.Minute
	mem := vault.NewMemory()
	var accts []Account
	for i := range soakAccounts {
		name := fmt.Sprintf("acct%d", i)
		if err := mem.Save(t.Context(), name, vault.Envelope{RefreshToken: sim.Grant(soakClient(i), plan.subject[i], testScopes)}); err != nil {
			t.Fatalf("Save(%q) = %v", name, err)
		}
		p := testProfile()
		p.ClientID = soakClient(i)
		accts = append(accts, Account{Name: name, Profile: p})
	}

	scan := &secretScan{}
	var (
		notesMu sync.Mutex
		notes   int            // episodes started: the keeper's notifications
		rule    state.Episodes // used by the snapshot watcher only
		bad     []string       // wrong states seen while running
		seen    = map[state.State]int{}
	)
	addBad := func(format string, args ...any) {
		notesMu.Lock()
		defer notesMu.Unlock()
		if len(bad) < 20 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	accountOf := func(name string) int { n, _ := strconv.Atoi(strings.TrimPrefix(name, "acct")); return n }
	eng, err := New(Options{
		Settings: s, Store: mem, Refresher: &oauth.Client{HTTP: sim.Client()}, Accounts: accts,
		Logger: slog.New(slog.NewTextHandler(scan, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rand:   rand.New(rand.NewPCG(seed, 1<<32)),
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(ctx) }()
	watched := make(chan struct{}) // closed when the snapshot watcher has stopped
	go func() {
		defer close(watched)
		for snap := range eng.Subscribe(ctx) {
			for _, c := range rule.Update(snap) {
				if !c.Started {
					continue
				}
				if leaks(c.Account.Reason) {
					addBad("%s: the reason of an episode holds a token", c.Account.Name)
				}
				notesMu.Lock()
				notes++
				notesMu.Unlock()
			}
			for _, st := range snap.Accounts {
				i := accountOf(st.Name)
				notesMu.Lock()
				seen[st.State]++
				notesMu.Unlock()
				switch {
				case st.State == state.StorageDegraded || st.Storage.Degraded:
					addBad("%s: storage degraded with a memory store", st.Name)
				case st.State == state.Failing && st.Failures < s.Backoff.MaxFailures:
					addBad("%s: failing after %d failures; want ≥ %d", st.Name, st.Failures, s.Backoff.MaxFailures)
				case st.State == state.BackingOff && (st.Failures < 1 || st.Failures >= s.Backoff.MaxFailures):
					addBad("%s: backing_off with %d failures; want 1..%d", st.Name, st.Failures, s.Backoff.MaxFailures-1)
				case st.State == state.NeedsSignIn:
					plan.mu.Lock()
					ended := plan.ended[i]
					plan.mu.Unlock()
					if !ended {
						addBad("%s: needs_signin but the simulator did not end the grant (%s)", st.Name, st.Reason)
					}
				case st.State == state.SignedOut && !st.LastAttempt.IsZero():
					addBad("%s: signed_out after a refresh", st.Name)
				}
				if st.LastError != nil && leaks(st.LastError.Message) {
					addBad("%s: an error message holds a token", st.Name)
				}
			}
		}
	}()

	time.Sleep(span)
	plan.mu.Lock()
	plan.calm = true
	plan.mu.Unlock()
	time.Sleep(calmSpan)
	final := eng.Snapshot()
	cancel()
	if err := <-runErr; err != nil && err != context.Canceled {
		t.Errorf("Run() = %v", err)
	}
	<-watched

	for _, b := range bad {
		t.Error(b)
	}
	if scan.leaks > 0 {
		t.Errorf("%d log writes hold a simulator token", scan.leaks)
	}

	// Per account: the request sequence against the rules.
	recs := map[string][]idpsim.RequestRecord{}
	var times []time.Time
	for _, r := range sim.Requests() {
		if r.Endpoint == "token" {
			recs[r.ClientID] = append(recs[r.ClientID], r)
			times = append(times, r.Time)
		}
	}
	outcomes := map[outcome]int{}
	for i := range soakAccounts {
		name := fmt.Sprintf("acct%d", i)
		log, rs := plan.log[i], recs[soakClient(i)]
		if len(log) != len(rs) {
			t.Fatalf("%s: the fault function saw %d requests, the simulator recorded %d", name, len(log), len(rs))
		}
		k := 0 // transient failures in a row
		endedAt := -1
		for j, a := range log {
			o := classify(a, rs[j])
			outcomes[o]++
			if a.ending {
				endedAt = j
			}
			if o == permanentFail && endedAt < 0 {
				t.Errorf("%s: request %d at %v got %s (AADSTS%d) but the simulator never ended the grant: the vault lost it", name, j, a.start.Sub(start), rs[j].Error, rs[j].AADSTS)
			}
			if j+1 == len(log) {
				break
			}
			next := log[j+1].start
			switch o {
			case success:
				k = 0
				if gap := next.Sub(a.start); gap < s.Refresh.Cooldown {
					t.Errorf("%s: request %d came %v after a success; want ≥ cooldown %v", name, j+1, gap, s.Refresh.Cooldown)
				}
			case transientFail:
				k++
				least := backoffRule(s, k) - time.Millisecond
				if a.fault != nil && a.fault.RetryAfter > 0 {
					least = max(least, a.fault.RetryAfter-time.Second)
				}
				if gap := next.Sub(a.end()); gap < least {
					t.Errorf("%s: request %d came %v after transient failure #%d in a row (%s); the backoff rule allows no earlier than %v",
						name, j+1, gap, k, faultLabel(a.fault), least)
				}
			case permanentFail:
				t.Errorf("%s: %d requests after the permanent error of request %d; want none", name, len(log)-j-1, j)
			}
		}
		st, _ := final.Account(name)
		if !plan.endAt[i].IsZero() {
			if endedAt < 0 {
				t.Errorf("%s: the plan ended the grant at %v but no request came after it", name, plan.endAt[i].Sub(start))
				continue
			}
			if after := len(log) - endedAt; after != 1 {
				t.Errorf("%s: %d requests from the end of the grant on; want exactly 1", name, after)
			}
			if st.State != state.NeedsSignIn {
				t.Errorf("%s: state %s after the simulator ended the grant (%s); want needs_signin", name, st.State, plan.endWith[i].label)
			}
			if env, err := mem.Load(t.Context(), name); err != nil || env.RefreshToken == "" {
				t.Errorf("%s: needs_signin dropped the stored tokens (%v); they must be kept", name, err)
			}
			continue
		}
		if st.State != state.OK || st.Failures != 0 || st.Storage.Degraded {
			t.Errorf("%s: %v after the faults stopped: state %s, failures %d, degraded %v; want ok, 0, false", name, calmSpan, st.State, st.Failures, st.Storage.Degraded)
		}
		env, err := mem.Load(t.Context(), name)
		if err != nil {
			t.Errorf("%s: Load() = %v", name, err)
		} else if !sim.Valid(env.RefreshToken) {
			t.Errorf("%s: the vault's refresh token is no longer accepted by the simulator (%s rotation)", name, rot)
		}
	}

	// The budget: never more than budget.requests in any budget.window.
	sort.Slice(times, func(a, b int) bool { return times[a].Before(times[b]) })
	peak, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= s.Budget.Window {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	if peak > s.Budget.Requests {
		t.Errorf("%d token requests in one %v window; budget %d", peak, s.Budget.Window, s.Budget.Requests)
	}

	if seen[state.Failing] == 0 || seen[state.BackingOff] == 0 {
		t.Errorf("no account was ever failing (%d) or backing off (%d): the matrix did not exercise the backoff states", seen[state.Failing], seen[state.BackingOff])
	}
	labels := slices.Sorted(func(yield func(string) bool) {
		for l := range plan.counts {
			if !yield(l) {
				return
			}
		}
	})
	var kinds []string
	for _, l := range labels {
		kinds = append(kinds, fmt.Sprintf("%s=%d", l, plan.counts[l]))
	}
	for _, k := range idpsim.FaultKinds() {
		found := false
		for l := range plan.counts {
			if strings.HasPrefix(l, k.String()) {
				found = true
			}
		}
		if !found {
			t.Errorf("fault kind %s was never injected; the matrix proves nothing about it", k)
		}
	}
	t.Logf("RELIABILITY faultmatrix rotation=%s span=%v accounts=%d requests=%d success=%d transient=%d permanent=%d peak_per_window=%d/%d skipped_or_deferred=%d notifications=%d log_lines=%d",
		rot, span, soakAccounts, len(times), outcomes[success], outcomes[transientFail], outcomes[permanentFail], peak, s.Budget.Requests, final.Counters.RefreshSkippedTotal, notes, scan.lines)
	t.Logf("RELIABILITY faultmatrix rotation=%s faults %s", rot, strings.Join(kinds, " "))
	t.Logf("RELIABILITY faultmatrix rotation=%s states_seen failing=%d backing_off=%d needs_signin=%d", rot, seen[state.Failing], seen[state.BackingOff], seen[state.NeedsSignIn])
}

// trailingFailures counts account i's transient failures in a row, from its
// newest request back, as recorded so far.
func trailingFailures(p *faultPlan, sim *idpsim.Server, i int) int {
	p.mu.Lock()
	log := slices.Clone(p.log[i])
	p.mu.Unlock()
	var rs []idpsim.RequestRecord
	for _, r := range sim.Requests() {
		if r.Endpoint == "token" && r.ClientID == soakClient(i) {
			rs = append(rs, r)
		}
	}
	n := min(len(log), len(rs))
	k := 0
	for j := n - 1; j >= 0 && classify(log[j], rs[j]) == transientFail; j-- {
		k++
	}
	return k
}
