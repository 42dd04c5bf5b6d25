package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

// printRadar prints one line per account whose next interactive sign-in
// date is known (the expiry radar): "work: sign-in needed by Mon 14 Dec
// 09:00 (in 8 days, sign-in frequency policy)".
func printRadar(out io.Writer, s state.Snapshot) {
	now := s.At
	if now.IsZero() {
		now = time.Now()
	}
	for _, a := range s.Accounts {
		if a.Radar != nil {
			fmt.Fprintf(out, "%s: %s\n", a.Name, ui.RadarText(a.Radar, now, time.Local))
		}
	}
}

// checkSignInFrequency validates idp-sim's --sign-in-frequency.
func checkSignInFrequency(d time.Duration) error {
	if d != 0 && (d < time.Minute || d > 90*24*time.Hour) {
		return usageErr("--sign-in-frequency %s: want 0 (no policy) or 1m–2160h (90 days)", d)
	}
	return nil
}

// statusLong is `status --help`: what the columns and the radar lines say.
const statusLong = `Show each account's state, last and next refresh, access-token expiry and
last error, and the engine counters.

The expiry radar: for each account whose provider tells, a line says by when
the next interactive sign-in is needed and why ("work: sign-in needed by
Mon 14 Dec 09:00 (in 8 days, sign-in frequency policy)"). Sources: the
refresh token's lifetime (Entra refresh_token_expires_in, for single-page
apps), the session lifetime (Keycloak refresh_expires_in), the
single-page-app 24 h limit (learned from AADSTS700084), and a Conditional
Access sign-in frequency limit (learned from AADSTS70043/70044, counted from
the id token's auth_time). --json has it as "radar": {sign_in_by, source,
since}. The keeper notifies radar.notify_days (default 3) before the date.`
