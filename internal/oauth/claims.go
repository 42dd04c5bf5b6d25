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
	return claimsJSON(raw)
}

// claimsJSON decodes the claims of an ID token payload with encoding/json
// (keys match case-insensitively, the last match wins); any error, such as a
// claim that is not a string or null, gives zero Claims.
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
