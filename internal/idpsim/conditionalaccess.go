package idpsim

import (
	"fmt"
	"strings"
)

func init() {
	aadstsText[50097] = "Device authentication is required."
	aadstsText[50158] = "External security challenge not satisfied. User will be redirected to another page or authentication provider to satisfy additional authentication challenges."
}

// ConditionalAccess is an Entra Conditional Access policy on one resource:
// every refresh_token grant for the resource is refused the way Entra
// refuses it, while the same refresh token still redeems tokens for other
// resources and stays valid (the refusal does not use it).
type ConditionalAccess struct {
	// AADSTS is the answer: 50076 (MFA required), 50079 (MFA enrollment
	// required), 53003 (blocked by policy), 50158 (external security
	// challenge), 50097 (device authentication required). 0 means 50076.
	AADSTS int
	// Error is the OAuth error code: Entra's v2.0 endpoint answers
	// interaction_required for these (the default, "") and invalid_grant on
	// some paths (MSAL treats both as "UI required").
	Error string
}

// caSubErrors are the suberrors Entra sends with each answer.
var caSubErrors = map[int]string{
	50076: "basic_action",
	50079: "basic_action",
	50158: "basic_action",
	50097: "device_authentication_failed",
	53003: "",
}

// RequireConditionalAccess puts resource (an App ID URI such as api://mfa)
// behind p; it registers the resource too. A later call replaces p.
func (s *Server) RequireConditionalAccess(resource string, p ConditionalAccess) {
	if p.AADSTS == 0 {
		p.AADSTS = 50076
	}
	if _, ok := caSubErrors[p.AADSTS]; !ok {
		panic(fmt.Sprintf("idpsim: AADSTS%d is not a Conditional Access answer the simulator knows (50076, 50079, 53003, 50158, 50097)", p.AADSTS))
	}
	if p.Error == "" {
		p.Error = "interaction_required"
	}
	resource = strings.TrimRight(resource, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.resLocked()
	r.known[resource] = true
	r.ca[resource] = p
}

// conditionalAccessLocked is the refusal of a token for resource, nil when
// no policy covers it. s.mu must be held.
func (s *Server) conditionalAccessLocked(resource string) *msError {
	p, ok := s.resLocked().ca[resource]
	if !ok {
		return nil
	}
	detail := fmt.Sprintf("The resource is '%s'.", resource)
	return newErr(400, p.Error, p.AADSTS, detail).withSub(caSubErrors[p.AADSTS])
}
