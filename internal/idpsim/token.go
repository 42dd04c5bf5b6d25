package idpsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const (
	deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"
	maxForm     = 64 << 10 // request body limit
)

// clientAuth returns the client ID and secret of r, from HTTP Basic
// (form-encoded, RFC 6749 §2.3.1) or else the form. r.Form must be parsed.
func clientAuth(r *http.Request) (clientID, secret string) {
	if id, sec, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
		return id, sec
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

// serveToken is the token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, rt route, rec *RequestRecord) {
	if r.Method != http.MethodPost {
		s.writeError(w, newErr(400, "invalid_request", 900561, "Received a "+r.Method+" request."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, newErr(400, "invalid_request", 9002313, "The request body is not a form."))
		return
	}
	f := r.PostForm
	rec.GrantType = f.Get("grant_type")
	rec.Scope = f.Get("scope")
	clientID, secret := clientAuth(r)
	rec.ClientID = clientID
	rec.Subject = s.subjectOf(rec.GrantType, f)

	if fault := s.nextFault(r); fault != nil {
		rec.Fault = fault.Kind
		if s.serveFault(w, r, fault) {
			return
		}
	}
	if e := s.checkClient(r, clientID, secret); e != nil {
		s.writeError(w, e)
		return
	}
	iss := EndpointsFor(s.base(r), rt.tenant).Issuer
	var (
		resp tokenResponse
		e    *msError
	)
	switch rec.GrantType {
	case "":
		e = newErr(400, "invalid_request", 900144, "Missing: 'grant_type'.")
	case "authorization_code":
		resp, e = s.redeemCode(f, clientID, iss)
	case "refresh_token":
		resp, e = s.redeemRefresh(f, clientID, iss)
	case deviceGrant:
		resp, e = s.redeemDevice(f, clientID, iss)
	default:
		e = newErr(400, "unsupported_grant_type", 70003, "")
	}
	if e != nil {
		s.writeError(w, e)
		return
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// subjectOf names the user a token request is about, without validating it.
func (s *Server) subjectOf(grantType string, f url.Values) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch grantType {
	case "refresh_token":
		if rt := s.refresh[f.Get("refresh_token")]; rt != nil {
			return rt.g.subject
		}
	case "authorization_code":
		if c := s.codes[f.Get("code")]; c != nil {
			return c.subject
		}
	case deviceGrant:
		if d := s.devices[f.Get("device_code")]; d != nil {
			return d.subject
		}
	}
	return ""
}

// checkClient applies client registration, confidential-client secrets and
// the SPA Origin rule.
func (s *Server) checkClient(r *http.Request, clientID, secret string) *msError {
	switch {
	case clientID == "":
		return newErr(400, "invalid_request", 900144, "Missing: 'client_id'.")
	case !s.knownClient(clientID):
		return newErr(400, "unauthorized_client", 700016, "Application with identifier '"+clientID+"' was not found.")
	}
	if want, ok := s.opts.ClientSecrets[clientID]; ok {
		if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
			return newErr(401, "invalid_client", 7000215, "")
		}
	}
	if slices.Contains(s.opts.SPAClients, clientID) && r.Header.Get("Origin") == "" {
		return newErr(400, "invalid_request", 9002327, "")
	}
	return nil
}

// redeemCode is the authorization_code grant: single use, same client and
// redirect_uri, PKCE S256.
func (s *Server) redeemCode(f url.Values, clientID, iss string) (tokenResponse, *msError) {
	code := f.Get("code")
	if code == "" {
		return tokenResponse{}, newErr(400, "invalid_request", 900144, "Missing: 'code'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[code]
	switch {
	case c == nil:
		return tokenResponse{}, newErr(400, "invalid_grant", 9002313, "The authorization code is malformed or unknown.")
	case c.redeemed:
		return tokenResponse{}, newErr(400, "invalid_grant", 54005, "")
	case !s.now().Before(c.expires):
		return tokenResponse{}, newErr(400, "invalid_grant", 70008, "")
	case c.clientID != clientID:
		return tokenResponse{}, newErr(400, "invalid_grant", 9002313, "The authorization code was issued to another client.")
	case f.Get("redirect_uri") != c.redirectURI:
		return tokenResponse{}, newErr(400, "invalid_grant", 50011, "The redirect_uri differs from the one of the authorization request.")
	case f.Get("code_verifier") == "":
		return tokenResponse{}, newErr(400, "invalid_grant", 501481, "Missing: 'code_verifier'.")
	case !pkceMatches(f.Get("code_verifier"), c.challenge):
		return tokenResponse{}, newErr(400, "invalid_grant", 501481, "")
	}
	rc, e := parseRequestClaims(f.Get("claims"))
	if e != nil {
		return tokenResponse{}, e
	}
	c.redeemed = true
	g := s.newGrantLocked(c.clientID, c.subject, c.tenantID, c.scopes)
	resp := s.issueLocked(g, c.scopes, iss, c.nonce, slices.Contains(c.scopes, "offline_access"))
	s.access[resp.AccessToken].xmsCC = rc.capabilities // client capabilities declared at sign-in (CAE)
	return resp, nil
}

// pkceMatches checks an S256 verifier against its challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// redeemRefresh is the refresh_token grant: it rotates the refresh token on
// every use and applies the rotation policy to the one sent.
func (s *Server) redeemRefresh(f url.Values, clientID, iss string) (tokenResponse, *msError) {
	value := f.Get("refresh_token")
	if value == "" {
		return tokenResponse{}, newErr(400, "invalid_request", 900144, "Missing: 'refresh_token'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, e := s.lookupLocked(value)
	if e != nil {
		if rt != nil && s.opts.Rotation == Strict && s.opts.ReuseRevokes && !rt.used.IsZero() && !rt.g.revoked {
			rt.g.revoked = true
		}
		return tokenResponse{}, e
	}
	if rt.g.clientID != clientID {
		return tokenResponse{}, newErr(400, "invalid_grant", 70000, "The refresh token was issued to another client.")
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		scopes = rt.g.scopes
	}
	// A request refused for its resource or claims does not use the token.
	aud, e := s.requestedResource(rt.g, scopes)
	if e == nil {
		e = s.conditionalAccessLocked(aud)
	}
	if e != nil {
		return tokenResponse{}, e
	}
	rc, e := parseRequestClaims(f.Get("claims"))
	if e != nil {
		return tokenResponse{}, e
	}
	if rt.used.IsZero() {
		rt.used = s.now()
	}
	resp := s.issueLocked(rt.g, scopes, iss, "", true)
	at := s.access[resp.AccessToken]
	at.aud, at.xmsCC, at.claimsNbf = aud, rc.capabilities, rc.nbf
	return resp, nil
}
