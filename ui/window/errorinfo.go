package window

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

// errorHelp says what a provider error means and what fixes it. An error
// that goes away by itself has retries set instead of a fix.
type errorHelp struct {
	meaning string
	fix     string
	retries bool
}

// aadstsHelp explains the common Microsoft Entra (AADSTS) codes.
var aadstsHelp = map[int]errorHelp{
	50173:   {meaning: "the grant was revoked, for example after a password change", fix: "Sign in again"},
	50076:   {meaning: "multi-factor authentication is now required", fix: "Sign in again and complete MFA"},
	50078:   {meaning: "the multi-factor authentication expired under your organisation's policy", fix: "Sign in again and complete MFA"},
	50079:   {meaning: "your organisation requires you to register for multi-factor authentication", fix: "Sign in again and set up MFA"},
	53003:   {meaning: "a Conditional Access policy blocked the sign-in", fix: "Ask your IT administrator (Copy details gives them the ids); signing in again will not help until the policy allows it"},
	65001:   {meaning: "consent for the requested scopes is missing", fix: "Sign in again and consent, or ask an administrator to grant consent for the app"},
	70000:   {meaning: "the refresh token is invalid or was revoked", fix: "Sign in again"},
	70008:   {meaning: "the refresh token expired or was revoked", fix: "Sign in again"},
	70043:   {meaning: "the sign-in session expired under a sign-in frequency policy", fix: "Sign in again"},
	700082:  {meaning: "the refresh token expired after 90 days without use", fix: "Sign in again"},
	700084:  {meaning: "the app is a single-page app, whose refresh tokens end after 24 h", fix: "Sign in again; to avoid it, register the app as \"Mobile and desktop applications\""},
	9002327: {meaning: "the app is registered as a single-page app, which needs an Origin header", fix: "Add headers: {Origin: …} to the account in the config file, or register the app as \"Mobile and desktop applications\""},
}

// oauthHelp explains the common OAuth error codes.
var oauthHelp = map[string]errorHelp{
	"invalid_grant":           {meaning: "the provider ended this sign-in (the refresh token expired or was revoked)", fix: "Sign in again"},
	"interaction_required":    {meaning: "the provider needs you to sign in interactively, for example for MFA or a new policy", fix: "Sign in again"},
	"consent_required":        {meaning: "consent for the requested scopes is missing", fix: "Sign in again and consent"},
	"invalid_client":          {meaning: "the provider does not accept the client ID", fix: "Check the account's client ID and its app registration"},
	"temporarily_unavailable": {meaning: "the provider is temporarily unavailable", retries: true},
}

// statusHelp explains the HTTP statuses of throttling.
var statusHelp = map[int]errorHelp{
	http.StatusTooManyRequests:    {meaning: "the provider is throttling requests", retries: true},
	http.StatusServiceUnavailable: {meaning: "the provider is unavailable or throttling", retries: true},
}

// errorCode names e as the provider did: "invalid_grant (AADSTS70043)",
// "AADSTS53003", "HTTP 429"; "" if it gave no code.
func errorCode(e *state.ErrorInfo) string {
	aad := make([]string, len(e.AADSTS))
	for i, c := range e.AADSTS {
		aad[i] = "AADSTS" + strconv.Itoa(c)
	}
	list := strings.Join(aad, ", ")
	switch {
	case e.Code != "" && list != "":
		return e.Code + " (" + list + ")"
	case e.Code != "":
		return e.Code
	case list != "":
		return list
	case e.HTTPStatus != 0:
		return "HTTP " + strconv.Itoa(e.HTTPStatus)
	}
	return ""
}

// helpFor finds the help of e: its first known AADSTS code (the most
// specific), else its OAuth code, else its HTTP status.
func helpFor(e *state.ErrorInfo) (errorHelp, bool) {
	for _, c := range e.AADSTS {
		if h, ok := aadstsHelp[c]; ok {
			return h, true
		}
	}
	if h, ok := oauthHelp[e.Code]; ok {
		return h, true
	}
	h, ok := statusHelp[e.HTTPStatus]
	return h, ok
}

// errorText is the error line of a's last error at now: for a known code
// the code, what it means and the fix ("invalid_grant (AADSTS70043): the
// sign-in session expired under a sign-in frequency policy — Sign in
// again"), else the plain message. known says which it is (an unknown one
// gets the generic fix line under it).
func errorText(a state.AccountStatus, now time.Time, loc *time.Location) (text string, known bool) {
	e := a.LastError
	h, ok := helpFor(e)
	if !ok {
		txt := e.Message
		if a.Reason != "" && a.Reason != e.Message {
			txt += " — " + a.Reason
		}
		return txt, false
	}
	fix := h.fix
	if h.retries {
		fix = "None needed: tokentray retries automatically"
		if at := ui.RetryAt(a); at.After(now) {
			fix = "None needed: tokentray retries at " + ui.ClockTime(at, now, loc)
		}
	}
	return errorCode(e) + ": " + h.meaning + " — " + fix, true
}

// errorDetails is what Copy details puts on the clipboard: what a support
// ticket needs about a's last error, and never a token (the ErrorInfo holds
// none; free text is scrubbed of anything token-like all the same).
func errorDetails(a state.AccountStatus, version string) string {
	e := a.LastError
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-15s %s\n", k+":", v)
		}
	}
	if version == "" {
		version = "unknown"
	}
	line("Account", a.Name)
	line("Provider", ui.ProviderName(a.Provider)+" ("+a.Provider+")")
	line("State", ui.StateLabel(a.State))
	line("Time", e.At.UTC().Format(time.RFC3339))
	line("Class", e.Class)
	line("Code", e.Code)
	aad := make([]string, len(e.AADSTS))
	for i, c := range e.AADSTS {
		aad[i] = strconv.Itoa(c)
	}
	line("AADSTS", strings.Join(aad, ", "))
	if e.HTTPStatus != 0 {
		line("HTTP status", fmt.Sprintf("%d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus)))
	}
	line("Trace ID", scrub(e.TraceID))
	line("Correlation ID", scrub(e.CorrelationID))
	line("Message", scrub(e.Message))
	line("tokentray", version)
	return b.String()
}

// Token-like strings: JWTs and long opaque runs (refresh tokens). Trace and
// correlation ids are GUIDs, 36 characters, and stay.
var (
	jwtRE     = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]*)?`)
	longRunRE = regexp.MustCompile(`[A-Za-z0-9_\-.~+/]{40,}=*`)
)

// scrub replaces anything token-like in s.
func scrub(s string) string {
	s = jwtRE.ReplaceAllString(s, "[redacted]")
	return longRunRE.ReplaceAllString(s, "[redacted]")
}
