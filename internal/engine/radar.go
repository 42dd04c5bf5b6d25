package engine

import (
	"errors"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// The expiry radar: when each account's next interactive sign-in will be
// needed, where the provider tells. The engine learns it from successful
// grants (a refresh-token lifetime in the response, the id_token's
// auth_time) and from permanent failures (a sign-in frequency limit, the
// single-page-app lifetime), keeps it in the account's state-file entry,
// and shows it in AccountStatus.Radar. It never invents a date: with
// nothing learned there is no radar.

// spaLifetime is Microsoft's fixed lifetime of a single-page app's refresh
// tokens, counted from the sign-in.
const spaLifetime = 24 * time.Hour

// radarRecord is what the engine knows about an account's next sign-in.
// It is kept in the account's state-file entry ("radar"); it holds no
// secret. The grant fields describe the current sign-in and are cleared by
// a new sign-in or a sign-out; the learned limits belong to the account
// (the tenant's policy or the app's registration) and are kept.
type radarRecord struct {
	// The current grant.
	RTExpiry   time.Time `json:"rt_expiry,omitzero"`    // the refresh token expires then, as the provider said
	RTSource   string    `json:"rt_source,omitempty"`   // which field said it; set with a zero RTExpiry: "no expiry"
	RTSince    time.Time `json:"rt_since,omitzero"`     // the response that said it
	AuthTime   time.Time `json:"auth_time,omitzero"`    // the id_token's auth_time
	SignedInAt time.Time `json:"signed_in_at,omitzero"` // the last interactive sign-in through tokentray
	// Learned limits.
	SignInLimit int64     `json:"sign_in_limit_s,omitempty"` // sign-in frequency, seconds (AADSTS70043/70044)
	SPA         bool      `json:"spa,omitempty"`             // refresh tokens of a single-page app (AADSTS700084)
	LearnedAt   time.Time `json:"learned_at,omitzero"`
	// The reminder (RemindRadar): the sign-in date the user was last
	// reminded of, and when. Kept across new grants and sign-outs (a new
	// grant brings a new date).
	Reminded   time.Time `json:"reminded,omitzero"`
	RemindedAt time.Time `json:"reminded_at,omitzero"`
	// Updated is the last change, so several processes merge to the newest.
	Updated time.Time `json:"updated,omitzero"`
}

// granted records a successful grant at now: a refresh (newGrant false) or
// a sign-in or import (newGrant true; interactive for a sign-in).
func (r *radarRecord) granted(tok oauth.Token, now time.Time, newGrant, interactive bool) {
	if newGrant {
		r.RTExpiry, r.RTSource, r.RTSince, r.AuthTime, r.SignedInAt = time.Time{}, "", time.Time{}, time.Time{}, time.Time{}
		if interactive {
			r.SignedInAt = now
		}
	}
	switch {
	case tok.RefreshExpirySource != "":
		r.RTExpiry, r.RTSource, r.RTSince = tok.RefreshExpiry.Round(0), tok.RefreshExpirySource, now
		if tok.RefreshNoExpiry {
			r.RTExpiry = time.Time{}
		}
	case tok.Rotated:
		// A new refresh token whose lifetime the provider did not tell.
		r.RTExpiry, r.RTSource, r.RTSince = time.Time{}, "", time.Time{}
	}
	if !tok.AuthTime.IsZero() {
		r.AuthTime = tok.AuthTime
	}
	r.Updated = now
}

// failed learns what a failed refresh at now tells about the account's
// limits: a sign-in frequency limit (applied from the next sign-in on), or
// that its refresh tokens are a single-page app's.
func (r *radarRecord) failed(err error, now time.Time) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return
	}
	if d, ok := oauth.SignInFrequencyLimit(oe); ok {
		r.SignInLimit, r.LearnedAt, r.Updated = int64(d/time.Second), now, now
	}
	if oauth.IsSPALifetimeEnd(oe) {
		r.SPA, r.LearnedAt, r.Updated = true, now, now
	}
}

// signedOut forgets the grant and keeps the learned limits and the
// reminder.
func (r *radarRecord) signedOut(now time.Time) {
	kept := radarRecord{SignInLimit: r.SignInLimit, SPA: r.SPA, LearnedAt: r.LearnedAt, Reminded: r.Reminded, RemindedAt: r.RemindedAt, Updated: r.Updated}
	if *r == kept {
		return
	}
	kept.Updated = now
	*r = kept
}

// radar is the earliest sign-in date the record supports, nil if none.
func (r radarRecord) radar() *state.Radar {
	var best *state.Radar
	consider := func(by time.Time, source string, since time.Time) {
		if by.IsZero() || (best != nil && !by.Before(best.SignInBy)) {
			return
		}
		best = &state.Radar{SignInBy: by.UTC(), Source: source, Since: since.UTC()}
	}
	if !r.RTExpiry.IsZero() {
		consider(r.RTExpiry, r.RTSource, r.RTSince)
	}
	if r.SignInLimit > 0 && !r.AuthTime.IsZero() {
		consider(r.AuthTime.Add(time.Duration(r.SignInLimit)*time.Second), state.RadarSignInFrequency, r.AuthTime)
	}
	if r.SPA && r.RTSource == "" && !r.SignedInAt.IsZero() {
		consider(r.SignedInAt.Add(spaLifetime), state.RadarSPA24h, r.SignedInAt)
	}
	return best
}

// radarOf is a's radar for a snapshot: none while a is signed out or
// already needs sign-in (the state says so).
func radarOf(a *account) *state.Radar {
	if !a.haveEnv || a.state == state.NeedsSignIn || a.state == state.SignedOut {
		return nil
	}
	return a.radar.radar()
}

// radarEntry is a's radar record for the state file, nil when empty.
func radarEntry(a *account) *radarRecord {
	if a.radar == (radarRecord{}) {
		return nil
	}
	r := a.radar
	return &r
}

// pickUpRadar takes another process's record when it is newer, keeping
// the newer of the two reminders.
func pickUpRadar(a *account, s *radarRecord, now time.Time) {
	if s != nil && s.Updated.After(a.radar.Updated) && !s.Updated.After(now.Add(clockSlack)) {
		mine := a.radar
		a.radar = *s
		if mine.RemindedAt.After(s.RemindedAt) {
			a.radar.Reminded, a.radar.RemindedAt = mine.Reminded, mine.RemindedAt
		}
	}
}
