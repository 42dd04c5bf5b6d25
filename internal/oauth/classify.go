package oauth

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryAfter is the wait assumed for a 429 response that carries no
// usable Retry-After header.
const DefaultRetryAfter = 60 * time.Second

// permanentCodes are OAuth error codes after which only a new sign-in helps.
var permanentCodes = map[string]bool{
	"invalid_grant":        true,
	"interaction_required": true,
	"consent_required":     true,
	"login_required":       true,
	"invalid_client":       true,
	"unauthorized_client":  true,
	"access_denied":        true, // device flow: the user declined
	"expired_token":        true, // device flow: the code expired
	// invalid_scope: the scopes asked for are wrong (settings, or a scope
	// the grant does not cover); asking again with the same scopes never
	// heals it.
	"invalid_scope": true,
}

// transientCodes are OAuth error codes that say "try again later".
var transientCodes = map[string]bool{
	"temporarily_unavailable": true,
	"server_error":            true,
	"authorization_pending":   true,
	"slow_down":               true,
}

// aadstsText explains the Microsoft AADSTS codes tokentray treats as
// permanent, plus a few that tell the user what to change.
var aadstsText = map[int]string{
	700082:  "refresh token expired after 90 days of inactivity",
	50173:   "the grant was revoked, for example after a password change",
	70043:   "refresh token expired under a conditional access sign-in frequency policy",
	700084:  "single-page-app refresh token reached its fixed 24-hour lifetime",
	70000:   "the refresh token is invalid or was revoked",
	65001:   "the user or an administrator has not consented to the requested scopes",
	70008:   "the refresh token or code has expired",
	9002327: "the app is registered as a single-page app: add an Origin header to the account",
}

// resourceAdvice says what to do about a refusal of one resource's token
// (a per-resource or claims request), by AADSTS code: Conditional Access
// and consent are settled per resource, in a browser or by an
// administrator.
var resourceAdvice = map[int]string{
	50076:  "the administrator's Conditional Access policy requires multi-factor authentication for this resource: complete it by signing in with this scope in a browser",
	50079:  "the administrator's Conditional Access policy requires registering for multi-factor authentication: register, then sign in with this scope in a browser",
	53003:  "the administrator's Conditional Access policy blocks tokens for this resource: ask the administrator",
	50158:  "an external security challenge of the administrator's Conditional Access policy is not satisfied: complete it by signing in with this scope in a browser",
	50097:  "the administrator's Conditional Access policy requires device authentication for this resource: use a registered or managed device",
	65001:  "consent to this resource is missing: sign in once with this scope, or ask the administrator to consent",
	500011: "the resource is not known in the tenant: check the scope",
	650057: "the app registration does not list this resource: check the scope or the app registration",
	70011:  "the scope is not valid: check the scope",
	28000:  "the scopes name more than one resource: ask for one resource at a time",
}

// ResourceAdvice says what to do about err, a refusal of a per-resource or
// claims request: "AADSTS50076: the administrator's Conditional Access
// policy requires ..."; for other errors what their code says, "" when
// nothing is known.
func ResourceAdvice(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	for _, c := range e.AADSTS {
		if t, ok := resourceAdvice[c]; ok {
			return fmt.Sprintf("AADSTS%d: %s", c, t)
		}
	}
	switch e.Code {
	case "consent_required":
		return "consent to this resource is missing: sign in once with this scope"
	case "interaction_required", "login_required":
		return "the provider wants an interactive sign-in for this resource: sign in once with this scope in a browser"
	case "invalid_scope", "invalid_resource":
		return "the provider does not know this scope or resource: check the scope"
	}
	return ""
}

// grantEndedAADSTS are the AADSTS codes that prove the grant itself (the
// refresh token) ended, whatever the request asked for: expired by
// inactivity or age (70008, 700082), revoked (50173), invalid (70000),
// past a sign-in frequency limit (70043, 70044), a single-page app's 24 h
// lifetime (700084), or the session's password expired or changed (50133).
// Consent (65001), Conditional Access (50076, 50079, 53003, 50158, 50097)
// and scope errors are about one request's resource and prove nothing
// about the grant.
var grantEndedAADSTS = map[int]bool{70008: true, 700082: true, 50173: true, 70000: true, 70043: true, 70044: true, 700084: true, 50133: true}

// GrantEnded reports whether err, the token endpoint's answer to a refresh,
// proves the grant ended: a permanent answer with one of grantEndedAADSTS,
// or invalid_grant with no AADSTS code at all (providers other than
// Microsoft say no more). Every
// other refusal of a per-resource or claims request concerns that request
// alone; only a refresh of the account's own scopes learns the account's
// state from it.
func GrantEnded(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Class != Permanent {
		return false
	}
	if slices.ContainsFunc(e.AADSTS, func(c int) bool { return grantEndedAADSTS[c] }) {
		return true
	}
	return e.Code == "invalid_grant" && len(e.AADSTS) == 0
}

// permanentAADSTS are the AADSTS codes classified Permanent when the OAuth
// error code itself does not decide.
var permanentAADSTS = map[int]bool{700082: true, 50173: true, 70043: true, 700084: true, 70000: true, 65001: true, 70008: true}

var aadstsRE = regexp.MustCompile(`AADSTS(\d{4,9})`)

// classify sets e.Class from its fields: the OAuth error code first, then the
// HTTP status and Retry-After, then AADSTS codes.
func classify(e *Error) {
	throttled := e.Status == http.StatusTooManyRequests || (e.Status == http.StatusServiceUnavailable && e.RetryAfter > 0)
	switch {
	case permanentCodes[e.Code]:
		e.Class = Permanent
	case throttled:
		e.Class = RetryAfter
		if e.RetryAfter <= 0 {
			e.RetryAfter = DefaultRetryAfter
		}
	case transientCodes[e.Code]:
		e.Class = Transient
	case slices.ContainsFunc(e.AADSTS, func(c int) bool { return permanentAADSTS[c] }):
		e.Class = Permanent
	default:
		e.Class = Transient
	}
	if e.Class != RetryAfter {
		e.RetryAfter = max(e.RetryAfter, 0)
	}
}

// MaxRetryAfter caps the wait a Retry-After header can impose, in either
// form (seconds or HTTP date).
const MaxRetryAfter = 7 * 24 * time.Hour

// parseRetryAfter reads a Retry-After header given in seconds or as an HTTP
// date and returns the wait, at most MaxRetryAfter, and what the provider
// asked for when that was more (else 0). Both are 0 when the header is
// absent or unusable.
func parseRetryAfter(v string, now time.Time) (wait, asked time.Duration) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, 0
		}
		d = time.Duration(math.MaxInt64) // n seconds would overflow a Duration
		if n < math.MaxInt64/int64(time.Second) {
			d = time.Duration(n) * time.Second
		}
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second) // saturates for far dates
	}
	if d <= 0 {
		return 0, 0
	}
	if d > MaxRetryAfter {
		return MaxRetryAfter, d
	}
	return d, 0
}

// UserMessage says what happened and what the user should do next.
func (e *Error) UserMessage() string {
	if e.Class == Permanent && e.Code == "invalid_scope" {
		return "fix the account's scopes in the settings, then sign in again: " + e.reason()
	}
	switch e.Class {
	case Permanent:
		return "sign in again: " + e.reason()
	case RetryAfter:
		return "throttled: retrying after " + shortDuration(e.RetryAfter)
	default:
		switch {
		case e.Status == 0:
			return "cannot reach the provider, will retry: " + e.reason()
		case e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Code != "" && !transientCodes[e.Code]:
			return "the provider rejected the request, will retry (check the account settings if this persists): " + e.reason()
		}
		return "temporary provider problem, will retry: " + e.reason()
	}
}

// reason is the human part of UserMessage.
func (e *Error) reason() string {
	var aad string
	for _, c := range e.AADSTS {
		if t, ok := aadstsText[c]; ok {
			aad = fmt.Sprintf("AADSTS%d: %s", c, t)
			break
		}
	}
	if aad == "" && len(e.AADSTS) > 0 {
		aad = fmt.Sprintf("AADSTS%d", e.AADSTS[0])
	}
	var what string
	switch e.Code {
	case "invalid_grant":
		what = "the provider ended this sign-in"
	case "interaction_required", "login_required":
		what = "the provider needs you to sign in interactively"
	case "consent_required":
		what = "the provider needs consent for the requested scopes"
	case "invalid_scope":
		what = "the provider refused the requested scopes as invalid"
	case "invalid_client", "unauthorized_client":
		what = "the provider rejected the client id; check the app registration"
	case "access_denied":
		what = "the sign-in was declined"
	case "expired_token":
		what = "the sign-in code expired"
	case "temporarily_unavailable", "server_error":
		what = "the provider is temporarily unavailable"
	case "":
		switch {
		case e.Status == 0 && e.Err != nil:
			what = e.Err.Error()
		case e.Status != 0:
			what = fmt.Sprintf("http %d %s", e.Status, http.StatusText(e.Status))
			if e.Err != nil {
				what += ": " + e.Err.Error()
			}
		default:
			what = "unknown error"
		}
	default:
		what = "the provider answered " + e.Code
	}
	if e.Class == Permanent && e.Code == "" && aad != "" {
		what = "the provider ended this sign-in"
	}
	if aad != "" {
		return what + " (" + aad + ")"
	}
	return what
}

// shortDuration prints 2m, 1m30s, 1h, 45s.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var (
	tokenParamRE = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|device_code|code_verifier|client_secret|assertion|code|token|password)(["']?\s*[=:]\s*["']?)[^\s&"',;]+`)
	jwtRE        = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]*)?`)
	longRunRE    = regexp.MustCompile(`[A-Za-z0-9_\-.~+/]{40,}=*`)
)

// maxDescription bounds the error_description kept in an Error.
const maxDescription = 1000

// sanitize strips anything that looks like a token from s, and every exact
// secret given, and bounds its length.
func sanitize(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = jwtRE.ReplaceAllString(s, "[redacted]")
	s = tokenParamRE.ReplaceAllString(s, "${1}${2}[redacted]")
	s = longRunRE.ReplaceAllString(s, "[redacted]")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxDescription {
		s = strings.ToValidUTF8(s[:maxDescription], "") + "..."
	}
	return strings.TrimSpace(s)
}

// aadstsCodes merges error_codes and AADSTS numbers found in the description,
// without duplicates, in order of appearance.
func aadstsCodes(codes []int, desc string) []int {
	var out []int
	for _, c := range codes {
		if c > 0 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, m := range aadstsRE.FindAllStringSubmatch(desc, 8) {
		if c, err := strconv.Atoi(m[1]); err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// oneLine sanitizes a short single-line field (error code, ids).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(sanitize(s)), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}
