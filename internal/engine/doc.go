// Package engine owns every account's token state: it schedules and performs
// refreshes, signs accounts in and out, keeps one refresh per account at a
// time across all of the user's processes, and publishes snapshots and
// counters for the tray, the window and the CLI.
//
// # State machine
//
//	signed_out ──sign in / import──▶ ok
//	ok ──refresh starts──▶ refreshing ──success, saved──▶ ok
//	                                 ──success, Save failed──▶ storage_degraded
//	                                 ──transient failure n──▶ backing_off (until)
//	                                 ──n ≥ max_failures──▶ failing (an episode)
//	                                 ──permanent failure──▶ needs_signin (reason; an episode)
//	backing_off / failing ──success──▶ ok
//	storage_degraded ──save retried and succeeds──▶ ok
//	needs_signin ──sign in / import──▶ ok   (a transient failure leaves it needs_signin)
//	any ──sign out, or the vault has no envelope──▶ signed_out
//	(vault unreadable: locked, timed out) ──▶ backing_off, class "storage"
//
// "refreshing" is shown while a flight runs; the account returns to the state
// its outcome decides. Entering failing or needs_signin starts an episode
// that the keeper announces once (state.Episodes, read from snapshots); the
// engine itself notifies no one. invalid_scope on the account's own refresh
// is permanent too: the account's scopes in the settings are wrong, and
// its reason says to fix them and sign in again. In storage_degraded the new pair is held in memory,
// Token still serves it, refreshes use its refresh token, and saving is
// retried with backoff. A held pair is never written blind: under the lock
// the store is read first, and if another process signed the account out,
// signed in another identity or stored a newer rotation since, the held pair
// is dropped and the snapshot's Reason says why. A process about to exit
// calls Flush, which fails with ErrUnsaved while a rotated refresh token is
// only in its memory. An envelope that another process obtained after this
// process's last attempt ends a failure episode (that process refreshed or
// signed in).
//
// # Scheduling rule
//
// For an account in good standing, with wall-clock times:
//
//	due  = min(last_success + interval, access_expiry - lookahead)
//	due  = max(due, last_attempt + cooldown)          // automatic refreshes only
//	due += uniform(0, jitter_max)                     // rolled once per success
//
// After the n-th transient failure in a row the account is retried at
// now + max(backoff(n) ± 20 %, retry_after), backoff(n) = min(base·2^(n-1), max);
// from max_failures on it is "failing" and retried at backoff max ± 20 %,
// tokens kept. A permanent failure stops automatic refreshes until sign-in.
// With refresh.enabled=false no automatic refresh is scheduled (manual ones
// and save retries still run). Every refresh — automatic, RefreshNow, Token,
// TokenFor (per-resource tokens and claims, tokenfor.go; same flight and lock),
// Import — spends one request of a global sliding-window budget; a spent
// budget defers automatic refreshes and refuses the others with *Refused.
// RefreshNow bypasses the interval and the cooldown, never a running
// Retry-After.
//
// Run first reads every envelope (Load), then one goroutine owns the
// schedule: a heap of next-due times, one entry per account, recomputed only
// for accounts whose state changed. The account set is live: AddAccount and
// RemoveAccount change it at any time, Run included. It sleeps
// until the earliest due time but never more than 60 s, and compares due
// times with the wall clock (monotonic readings stripped), so a refresh that
// fell due while the machine was suspended runs within a minute of resume.
//
// # One refresh at a time
//
// A flight (a one-slot channel per account) serialises refreshes in the
// process; a lock file "<LockDir>/<account>.lock" serialises them across
// processes. Under both, the engine re-reads the vault, decides again whether
// the refresh is still needed (for Token: is the stored access token valid
// long enough — then no request is sent), refreshes, and saves the new pair
// before the token is handed out or success is reported. When the provider's
// access tokens live shorter than the minValid a Token caller asks for, a
// token less than half a lifetime old counts as valid long enough, so Token
// calls refresh at most once per half lifetime.
//
// Every refresh runs one skeleton (refresh.go: run, decide, send): the
// account's own (scheduled, RefreshNow, Token), a per-resource token, a
// claims request and the grant check of a narrower-scope refresh. The
// account's own refresh records every failure, including one before the
// request (the lock file: transient; reading the vault: storage). A
// per-resource or claims refresh changes the account only when the
// provider's answer proves the grant ended (oauth.GrantEnded); any other
// failure — Conditional Access or consent for that resource, a bad scope,
// the network, the keychain — goes to its caller alone (ErrResource for a
// refusal, with the provider's code and what to do), and the account's
// state, schedule and episodes stay as they were. A provider's Retry-After
// holds for every request. Every grant teaches the expiry radar.
//
// Per-account state that must survive a restart (needs sign-in and why, last
// attempt and success, failures, backoff and Retry-After deadlines, 24 h of
// history, the expiry radar and the sign-in date last reminded of) lives in the JSON file Options.StatePath; it never holds a secret.
// Every process shares it: writes are merged per account under
// "<StatePath>.lock" (an engine replaces only the entries it changed), and
// an engine picks up what others recorded for its accounts before deciding a
// refresh and whenever Run sees the file change.
//
// Times read from the state file or the vault that lie in the future (the
// clock was stepped back) are clamped to now, and an access token obtained
// in the future counts as expired; a step back seen while Run runs shifts
// every recorded time by the step.
package engine
