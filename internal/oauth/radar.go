package oauth

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What a token response can say about when the next interactive sign-in is
// needed (the expiry radar). Every field is read leniently: a value of the
// wrong type or out of range is ignored, never an error.

// Sources of Token.RefreshExpiry.
const (
	// RefreshTokenExpiresIn is Microsoft Entra's refresh_token_expires_in,
	// sent for single-page-app (cross-origin) redemptions: the seconds left
	// of the fixed 24 h SPA lifetime.
	RefreshTokenExpiresIn = "refresh_token_expires_in"
	// RefreshExpiresIn is Keycloak's refresh_expires_in: the seconds until
	// the refresh token (the SSO session idle or max limit) expires; 0 means
	// an offline token without expiry.
	RefreshExpiresIn = "refresh_expires_in"
)

// maxRadarSeconds bounds a refresh-token lifetime or sign-in limit taken
// from a provider: 100 years. Larger values are ignored as nonsense.
const maxRadarSeconds = 100 * 365 * 24 * 3600

// optSeconds is a whole number of seconds that may be absent. It accepts a
// JSON number or a string holding one and never fails: anything else (a
// negative, fractional garbage, an object, a huge value) reads as absent.
type optSeconds struct {
	Set bool  // the field was present with a usable value
	N   int64 // seconds
}

func (o *optSeconds) UnmarshalJSON(b []byte) error {
	*o = parseOptSeconds(strings.Trim(string(b), `"`))
	return nil
}

// parseOptSeconds reads s as a non-negative number of seconds (fractions
// are truncated).
func parseOptSeconds(s string) optSeconds {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return optSeconds{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxRadarSeconds {
		return optSeconds{}
	}
	return optSeconds{Set: true, N: int64(f)}
}

// refreshExpiry reads the refresh token's lifetime from a successful token
// response whose request left at sent. It returns the expiry and its
// source, or noExpiry when Keycloak said 0 (an offline token). A response
// that says nothing gives zero values.
func refreshExpiry(tr tokenResponse, sent time.Time) (exp time.Time, source string, noExpiry bool) {
	switch {
	case tr.RefreshTokenExpiresIn.Set && tr.RefreshTokenExpiresIn.N > 0:
		return sent.Add(time.Duration(tr.RefreshTokenExpiresIn.N) * time.Second), RefreshTokenExpiresIn, false
	case tr.RefreshExpiresIn.Set && tr.RefreshExpiresIn.N > 0:
		return sent.Add(time.Duration(tr.RefreshExpiresIn.N) * time.Second), RefreshExpiresIn, false
	case tr.RefreshExpiresIn.Set: // 0: offline token, no expiry
		return time.Time{}, RefreshExpiresIn, true
	}
	return time.Time{}, "", false
}

// authTime reads the auth_time claim (when the user last authenticated
// interactively, seconds since the epoch) from an ID token WITHOUT verifying
// it: it is used only to tell the user when to sign in again. A missing or
// malformed claim gives the zero time.
func authTime(idToken string) time.Time {
	_, rest, ok := strings.Cut(idToken, ".")
	if !ok {
		return time.Time{}
	}
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil || !strings.Contains(string(raw), "auth_time") {
		return time.Time{}
	}
	var c struct {
		AuthTime optSeconds `json:"auth_time"`
	}
	if json.Unmarshal(raw, &c) != nil || !c.AuthTime.Set || c.AuthTime.N <= 0 || c.AuthTime.N > 253402300799 {
		return time.Time{} // absent, or not a time between 1970 and 9999
	}
	return time.Unix(c.AuthTime.N, 0).UTC()
}

// Microsoft's sign-in frequency errors (Conditional Access): the refresh
// token (70043) or the session (70044) is past the policy's limit, worded
// "... The token was issued on {date} and the maximum allowed lifetime for
// this request is {n}." with n in seconds.
const (
	AADSTSSignInFrequency        = 70043
	AADSTSSignInFrequencySession = 70044
	AADSTSSPALifetime            = 700084 // SPA refresh token past its fixed 24 h
)

var sifLimitRE = regexp.MustCompile(`(?i)maximum\s+allowed\s+lifetime\s+for\s+this\s+request\s+is\s+'?([0-9][0-9.:]*)`)

// SignInFrequencyLimit returns the sign-in frequency limit an error names:
// for AADSTS70043 or 70044 the "maximum allowed lifetime for this request"
// of its description, in seconds ("1209600") or as a .NET time span
// ("14.00:00:00", "08:00:00"). ok is false for other errors and for wording
// it does not recognise.
func SignInFrequencyLimit(e *Error) (limit time.Duration, ok bool) {
	if e == nil || !slices.ContainsFunc(e.AADSTS, func(c int) bool {
		return c == AADSTSSignInFrequency || c == AADSTSSignInFrequencySession
	}) {
		return 0, false
	}
	m := sifLimitRE.FindStringSubmatch(e.Description)
	if m == nil {
		return 0, false
	}
	return parseLimit(strings.TrimRight(m[1], ".:"))
}

// parseLimit reads whole seconds or a .NET TimeSpan "[d.]hh:mm:ss[.fffffff]".
func parseLimit(s string) (time.Duration, bool) {
	if !strings.Contains(s, ":") {
		if strings.Contains(s, ".") {
			return 0, false // "1209600.5" or a date: not a wording we know
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > maxRadarSeconds {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var days int64
	hh := parts[0]
	if d, h, found := strings.Cut(hh, "."); found {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || n > maxRadarSeconds/86400 {
			return 0, false
		}
		days, hh = n, h
	}
	ss, _, _ := strings.Cut(parts[2], ".") // fractions of a second are dropped
	h, err1 := strconv.ParseInt(hh, 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseInt(ss, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	total := days*86400 + h*3600 + m*60 + sec
	if total <= 0 {
		return 0, false
	}
	return time.Duration(total) * time.Second, true
}

// IsSPALifetimeEnd reports whether err says a single-page-app refresh token
// reached its fixed 24 h lifetime (AADSTS700084).
func IsSPALifetimeEnd(e *Error) bool {
	return e != nil && slices.Contains(e.AADSTS, AADSTSSPALifetime)
}
