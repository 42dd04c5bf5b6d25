package oauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// parseClaims reads name, preferred_username, tid and sub from an ID token
// WITHOUT verifying its signature: the claims are for display only and must
// never be used for an authorization decision. A malformed token gives zero
// Claims.
func parseClaims(idToken string) Claims {
	_, rest, ok := strings.Cut(idToken, ".")
	if !ok {
		return Claims{}
	}
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return Claims{}
	}
	if c, ok := claimsFast(raw); ok {
		return c
	}
	return claimsJSON(raw)
}

// claimsJSON decodes the claims with encoding/json; any error gives zero Claims.
func claimsJSON(raw []byte) Claims {
	var c struct {
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		TID               string `json:"tid"`
		Sub               string `json:"sub"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return Claims{}
	}
	return Claims{Name: c.Name, PreferredUsername: c.PreferredUsername, TenantID: c.TID, Subject: c.Sub}
}

// claimsFast decodes the common shape of an ID token payload (a flat JSON
// object of plain ASCII strings without escapes, numbers, booleans and
// nulls) without reflection; it runs on every refresh. It reports false for
// anything else, and the caller falls back to claimsJSON; when it reports
// true its result equals claimsJSON's (FuzzClaims checks this).
func claimsFast(b []byte) (Claims, bool) {
	var c Claims
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return Claims{}, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return c, skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return Claims{}, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return Claims{}, false
		}
		i = skipSpace(b, i+1)
		var dst *string
		switch string(key) { // no allocation: the compiler compares in place
		case "name":
			dst = &c.Name
		case "preferred_username":
			dst = &c.PreferredUsername
		case "tid":
			dst = &c.TenantID
		case "sub":
			dst = &c.Subject
		default:
			// encoding/json matches keys case-insensitively: leave near
			// misses such as "Name" to it.
			if foldsToClaim(string(key)) {
				return Claims{}, false
			}
		}
		if i >= len(b) {
			return Claims{}, false
		}
		switch {
		case b[i] == '"':
			v, j, ok := plainString(b, i)
			if !ok {
				return Claims{}, false
			}
			if dst != nil {
				*dst = string(v)
			}
			i = j
		case dst != nil && !hasPrefixAt(b, i, "null"):
			return Claims{}, false // a claim of the wrong type: encoding/json fails
		default:
			j, ok := literal(b, i)
			if !ok {
				return Claims{}, false
			}
			i = j
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return Claims{}, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return c, skipSpace(b, i+1) == len(b)
		default:
			return Claims{}, false
		}
	}
}

// hasPrefixAt reports whether b[i:] starts with w.
func hasPrefixAt(b []byte, i int, w string) bool {
	return len(b)-i >= len(w) && string(b[i:i+len(w)]) == w
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] made of printable ASCII without
// backslashes; it returns its bytes and the index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// literal reads a JSON number, true, false or null at b[i].
func literal(b []byte, i int) (int, bool) {
	for _, w := range []string{"true", "false", "null"} {
		if hasPrefixAt(b, i, w) {
			return i + len(w), true
		}
	}
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	return j, true
}

// foldsToClaim reports whether key equals one of the claim names ignoring
// case (encoding/json would then decode it into that claim).
func foldsToClaim(key string) bool {
	for _, k := range []string{"name", "preferred_username", "tid", "sub"} {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}
