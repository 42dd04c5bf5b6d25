package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Client capabilities an account may declare (Microsoft's xms_cc claim).
// cp1 says the client handles claims challenges, which makes Microsoft
// issue Continuous Access Evaluation tokens to it.
var Capabilities = []string{"cp1"}

// MaxClaimsBytes bounds a claims request (decoded JSON) and MaxClaimsB64 its
// base64 form as a script passes it in.
const (
	MaxClaimsBytes = 8 << 10
	MaxClaimsB64   = (MaxClaimsBytes + 2) / 3 * 4
)

// CheckCapabilities returns an error naming the first capability that is
// not one of Capabilities.
func CheckCapabilities(caps []string) error {
	for _, c := range caps {
		if !slices.Contains(Capabilities, c) {
			return fmt.Errorf("client capability %q is not supported (allowed: %s)", c, strings.Join(Capabilities, ", "))
		}
	}
	return nil
}

// DecodeClaimsChallenge turns the claims value of a WWW-Authenticate claims
// challenge (base64 of a JSON object; standard or URL alphabet, padded or
// not) into its JSON. The error says what is wrong and never quotes the
// value.
func DecodeClaimsChallenge(b64 string) (string, error) {
	b64 = strings.TrimSpace(b64)
	if b64 == "" {
		return "", errors.New("claims challenge is empty: pass the base64 claims value of the WWW-Authenticate header")
	}
	if len(b64) > MaxClaimsB64 {
		return "", fmt.Errorf("claims challenge is %d characters; at most %d allowed", len(b64), MaxClaimsB64)
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(b64); err == nil {
			break
		}
	}
	if err != nil {
		return "", errors.New("claims challenge is not base64: pass the claims value of the WWW-Authenticate header as it is")
	}
	if err := checkClaimsJSON(raw); err != nil {
		return "", fmt.Errorf("claims challenge: %w", err)
	}
	return string(raw), nil
}

// checkClaimsJSON accepts a JSON object of at most MaxClaimsBytes.
func checkClaimsJSON(b []byte) error {
	if len(b) > MaxClaimsBytes {
		return fmt.Errorf("claims JSON is %d bytes; at most %d allowed", len(b), MaxClaimsBytes)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return errors.New("claims are not a JSON object (want {\"access_token\":{...}})")
	}
	return nil
}

// RequestClaims returns the claims parameter of a token request: the
// capabilities as {"access_token":{"xms_cc":{"values":[...]}}} merged with
// claims (a JSON object, for example a challenge's) the way MSAL merges
// them: objects merge member by member, and where both set a value the
// challenge's wins. "" when there are neither.
func RequestClaims(capabilities []string, claims string) (string, error) {
	if len(capabilities) == 0 && claims == "" {
		return "", nil
	}
	if err := CheckCapabilities(capabilities); err != nil {
		return "", err
	}
	out := map[string]any{}
	if len(capabilities) > 0 {
		out["access_token"] = map[string]any{"xms_cc": map[string]any{"values": capabilities}}
	}
	if claims != "" {
		if err := checkClaimsJSON([]byte(claims)); err != nil {
			return "", err
		}
		var c map[string]any
		_ = json.Unmarshal([]byte(claims), &c)
		out = mergeJSON(out, c)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	return string(b), nil
}

// mergeJSON merges src into dst: nested objects member by member, any other
// value of src replacing dst's.
func mergeJSON(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeJSON(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// setCapabilityClaims adds the claims parameter declaring p's client
// capabilities to a sign-in's token request (code or device code
// redemption), as MSAL does, so the first access token is already a CAE
// token; a sign-in never carries a challenge's claims.
func setCapabilityClaims(form url.Values, p Profile) error {
	claims, err := RequestClaims(p.Capabilities, "")
	if err != nil {
		return err
	}
	if claims != "" {
		form.Set("claims", claims)
	}
	return nil
}
