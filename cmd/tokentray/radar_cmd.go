package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/ui"
)

// printRadar prints one line per account whose next interactive sign-in
// date is known (the expiry radar): "work: sign-in needed by Mon 14 Dec
// 09:00 (in 8 days, sign-in frequency policy)".
func printRadar(out io.Writer, s engine.Snapshot) {
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
