package window

import (
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

// scopedText is that row at now: "Tokens for other resources:
// api://reports/.default until 13:04; …" ("" when none).
func scopedText(a state.AccountStatus, now time.Time, loc *time.Location) string {
	if len(a.Scoped) == 0 {
		return ""
	}
	parts := make([]string, len(a.Scoped))
	for i, s := range a.Scoped {
		parts[i] = strings.Join(s.Scopes, " ") + " until " + ui.ClockTime(s.Expiry, now, loc)
	}
	return "Tokens for other resources: " + strings.Join(parts, "; ")
}

// updateScoped shows a's per-resource tokens at now.
func (c *card) updateScoped(a state.AccountStatus, now time.Time) {
	txt := scopedText(a, now, c.w.loc)
	showText(c.scopedLine, txt, txt != "")
}
