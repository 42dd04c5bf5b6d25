package idpsim

import (
	"net/http"
	"strings"
)

// IntrospectionURL is the RFC 7662 token introspection endpoint under base
// for tenant ("" for the plain route, base + "/introspect"). The Microsoft
// identity platform has no such endpoint; the simulator adds it so that a
// resource server that validates bearer tokens by introspection (dovecot's
// oauth2 passdb, for mail) can accept the access tokens it issues.
func IntrospectionURL(base, tenant string) string {
	base = strings.TrimRight(base, "/")
	if tenant == "" {
		return base + "/introspect"
	}
	return base + "/" + tenant + "/oauth2/v2.0/introspect"
}

// introspection is an RFC 7662 §2.2 response. An inactive token gets
// {"active":false} and nothing else.
type introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub,omitempty"`
	Username  string `json:"username,omitempty"` // the user's UPN (preferred_username)
	Scope     string `json:"scope,omitempty"`
	Audience  string `json:"aud,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
}

// serveIntrospect answers POST token=... (RFC 7662): active with the
// token's subject, user name, scope, audience and expiry for an access
// token the simulator issued that has not expired and whose grant was not
// revoked; {"active":false} for anything else — unknown, expired or revoked
// tokens, and refresh tokens, which a resource server must never accept as
// bearer tokens. Callers are not authenticated (a simulator for loopback
// tests); token_type_hint is accepted and ignored, as §2.1 allows.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		s.writeError(w, newErr(http.StatusMethodNotAllowed, "invalid_request", 900561, "The introspection endpoint takes POST only; received a "+r.Method+" request."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, newErr(400, "invalid_request", 9002313, "The request body is not a form."))
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		s.writeError(w, newErr(400, "invalid_request", 900144, "Missing: 'token'."))
		return
	}
	s.mu.Lock()
	at := s.access[tok]
	var resp introspection
	if at != nil && !at.g.revoked && s.now().Before(at.expires) {
		_, upn := User(at.g.subject)
		aud := at.aud
		if aud == "" {
			aud = s.grantResource(at.g)
		}
		resp = introspection{
			Active: true, Subject: at.g.subject, Username: upn, Scope: at.scope, Audience: aud,
			ClientID: at.g.clientID, TokenType: "Bearer", Expiry: at.expires.Unix(),
		}
		rec.ClientID, rec.Subject = at.g.clientID, at.g.subject
	}
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, resp)
}
