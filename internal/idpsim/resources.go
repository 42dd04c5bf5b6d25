package idpsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GraphResource is Microsoft Graph. Scopes without a resource prefix
// (User.Read) belong to it, as on the Microsoft identity platform; every
// grant has consented to it (a default tenant's User.Read).
const GraphResource = "https://graph.microsoft.com"

// nonResourceScopes are the OpenID Connect scopes, which name no resource.
var nonResourceScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

func init() {
	aadstsText[28000] = "Provided value for the input parameter scope is not valid because it contains more than one resource."
	aadstsText[500011] = "The resource principal named {resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
	aadstsText[50005] = "The claims parameter is not valid JSON."
}

// resourceState is what the resource side of the simulator knows: the
// registered resources, per-user consents and pending claims challenges.
// Guarded by Server.mu.
type resourceState struct {
	known      map[string]bool              // registered resources besides Graph
	consents   map[string]map[string]bool   // subject → resources consented to
	challenges map[string]int64             // subject → nbf a token must have been asked for
	ca         map[string]ConditionalAccess // resource → policy (conditionalaccess.go)
}

// resLocked returns s's resource state, creating it. s.mu must be held.
func (s *Server) resLocked() *resourceState {
	if s.res == nil {
		s.res = &resourceState{known: map[string]bool{}, consents: map[string]map[string]bool{}, challenges: map[string]int64{}, ca: map[string]ConditionalAccess{}}
	}
	return s.res
}

// ResourceOf returns the resource a scope belongs to, as the Microsoft
// identity platform reads it: everything before the last "/" of a URI scope
// (https://graph.microsoft.com/User.Read, api://app/.default, and
// https://management.azure.com//.default with its doubled slash), Graph for
// a bare scope (User.Read), and "" for the OpenID Connect scopes.
func ResourceOf(scope string) string {
	if nonResourceScopes[scope] {
		return ""
	}
	i := strings.LastIndex(scope, "/")
	if i <= 0 {
		return GraphResource
	}
	return strings.TrimRight(scope[:i], "/")
}

// AddResource registers resource (an App ID URI such as api://app or
// https://x.test) in the tenant: a refresh for it no longer gets
// AADSTS500011, but still AADSTS65001 until the user consents (Consent).
func (s *Server) AddResource(resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resLocked().known[strings.TrimRight(resource, "/")] = true
}

// Consent records that subject consented to resource (registering it, if
// it was not): refresh tokens of subject's grants then redeem access tokens
// for it.
func (s *Server) Consent(subject, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.resLocked()
	resource = strings.TrimRight(resource, "/")
	r.known[resource] = true
	if r.consents[subject] == nil {
		r.consents[subject] = map[string]bool{}
	}
	r.consents[subject][resource] = true
}

// requestedResource checks the scopes of a refresh_token grant against g's
// consents and returns the resource the access token is for. s.mu must be
// held.
func (s *Server) requestedResource(g *grant, scopes []string) (string, *msError) {
	var res []string
	for _, sc := range scopes {
		if r := ResourceOf(sc); r != "" && !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	switch len(res) {
	case 0:
		return s.grantResource(g), nil
	case 1:
	default:
		return "", newErr(400, "invalid_scope", 28000, fmt.Sprintf("Scope %s is not valid.", strings.Join(scopes, " ")))
	}
	r := res[0]
	var dflt, other bool
	for _, sc := range scopes {
		if ResourceOf(sc) == "" {
			continue
		}
		if strings.HasSuffix(sc, "/.default") {
			dflt = true
		} else {
			other = true
		}
	}
	if dflt && other {
		e := newErr(400, "invalid_scope", 70011, "")
		e.desc = fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope '%s' is not valid. .default scope can't be combined with resource-specific scopes.", strings.Join(scopes, " "))
		return "", e
	}
	st := s.resLocked()
	granted := slices.ContainsFunc(g.scopes, func(sc string) bool { return ResourceOf(sc) == r })
	switch {
	case r == GraphResource || granted || st.consents[g.subject][r]:
		return r, nil
	case !st.known[r]:
		e := newErr(400, "invalid_resource", 500011, "")
		e.desc = strings.Replace(e.desc, "{resource}", r, 1)
		return "", e
	}
	return "", newErr(400, "invalid_grant", 65001, fmt.Sprintf("The user has not consented to resource '%s' for application '%s'.", r, g.clientID)).withSub("consent_required")
}

// grantResource is the resource of g's own scopes (Graph if they name none).
func (s *Server) grantResource(g *grant) string {
	for _, sc := range g.scopes {
		if r := ResourceOf(sc); r != "" {
			return r
		}
	}
	return GraphResource
}

// requestClaims is what the simulator reads from a token request's claims
// parameter (OpenID Connect Core §5.5, as Microsoft uses it for CAE).
type requestClaims struct {
	capabilities []string // access_token.xms_cc.values
	nbf          int64    // access_token.nbf.value
}

// parseRequestClaims parses the claims parameter; "" is no claims.
func parseRequestClaims(v string) (requestClaims, *msError) {
	var rc requestClaims
	if v == "" {
		return rc, nil
	}
	var doc struct {
		AccessToken map[string]json.RawMessage `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return rc, newErr(400, "invalid_request", 50005, "")
	}
	if raw, ok := doc.AccessToken["xms_cc"]; ok {
		var cc struct {
			Values []string `json:"values"`
		}
		if json.Unmarshal(raw, &cc) != nil {
			return rc, newErr(400, "invalid_request", 50005, "xms_cc must be {\"values\":[...]}.")
		}
		rc.capabilities = cc.Values
	}
	if raw, ok := doc.AccessToken["nbf"]; ok {
		var nbf struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &nbf) != nil {
			return rc, newErr(400, "invalid_request", 50005, "nbf must be {\"essential\":true,\"value\":...}.")
		}
		n, err := strconv.ParseInt(strings.Trim(string(nbf.Value), `"`), 10, 64)
		if err != nil {
			return rc, newErr(400, "invalid_request", 50005, "nbf value must be unix seconds.")
		}
		rc.nbf = n
	}
	return rc, nil
}

// AccessInfo describes an access token the simulator issued.
type AccessInfo struct {
	Subject      string
	Audience     string   // the resource the token is for
	Capabilities []string // xms_cc: client capabilities the request declared
	ClaimsNbf    int64    // the nbf claim the request asked for (a claims challenge answered); 0 if none
	Expires      time.Time
}

// Access returns what the simulator knows of an access token it issued.
func (s *Server) Access(token string) (AccessInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.access[token]
	if at == nil {
		return AccessInfo{}, false
	}
	return AccessInfo{Subject: at.g.subject, Audience: at.aud, Capabilities: slices.Clone(at.xmsCC), ClaimsNbf: at.claimsNbf, Expires: at.expires}, true
}

// Challenge makes the resource endpoint answer every CAE-capable access
// token of subject (one whose request declared xms_cc cp1) with a claims
// challenge, as a resource does after a critical event such as a password
// change, until a token is presented whose request carried the challenge's
// claims. It returns the challenge's claims, base64 as in the
// WWW-Authenticate header.
func (s *Server) Challenge(subject string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	nbf := s.now().Unix()
	s.resLocked().challenges[subject] = nbf
	return challengeClaims(nbf)
}

func challengeClaims(nbf int64) string {
	j := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, nbf)
	return base64.StdEncoding.EncodeToString([]byte(j))
}

// serveResource is a protected resource (GET /resource with a bearer access
// token). It answers 200 with the token's audience and subject, 401
// invalid_token for a token it did not issue or that expired, and 401
// insufficient_claims with the claims to ask for while a Challenge is
// pending for a CAE-capable token.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	at := s.access[tok]
	var challenge int64
	valid := ok && at != nil && s.now().Before(at.expires)
	if valid {
		challenge = s.resLocked().challenges[at.g.subject]
	}
	cae := valid && slices.Contains(at.xmsCC, "cp1")
	var body map[string]any
	if valid {
		body = map[string]any{"aud": at.aud, "sub": at.g.subject, "xms_cc": at.xmsCC}
	}
	s.mu.Unlock()
	switch {
	case !valid:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is missing, unknown or expired"`)
		s.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
	case cae && challenge != 0 && at.claimsNbf < challenge:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="%s"`, s.base(r), challengeClaims(challenge)))
		s.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "insufficient_claims"})
	default:
		s.writeJSON(w, http.StatusOK, body)
	}
}
