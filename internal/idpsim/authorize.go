package idpsim

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeTTL is how long an authorization code can be redeemed.
const codeTTL = 10 * time.Minute

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	scopes      []string
	subject     string
	tenantID    string
	nonce       string
	expires     time.Time
	redeemed    bool
}

// knownClient reports whether clientID is accepted.
func (s *Server) knownClient(clientID string) bool {
	return len(s.opts.Clients) == 0 || slices.Contains(s.opts.Clients, clientID)
}

// redirectAllowed accepts loopback http URIs (any port and path) and the
// configured extra ones.
func (s *Server) redirectAllowed(raw string) bool {
	if slices.Contains(s.opts.RedirectURIs, raw) {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Fragment != "" || u.User != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// serveAuthorize approves every valid request at once, as the signed-in
// user login_hint (or Options.DefaultSubject), and redirects with a code.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, rt route, rec *RequestRecord) {
	if err := r.ParseForm(); err != nil {
		s.authorizePage(w, newErr(400, "invalid_request", 9002313, "The query is malformed."))
		return
	}
	q := r.Form
	clientID := q.Get("client_id")
	rec.ClientID = clientID
	switch {
	case clientID == "":
		s.authorizePage(w, newErr(400, "invalid_request", 900144, "Missing: 'client_id'."))
		return
	case !s.knownClient(clientID):
		s.authorizePage(w, newErr(400, "unauthorized_client", 700016, "Application with identifier '"+clientID+"' was not found."))
		return
	case !s.redirectAllowed(q.Get("redirect_uri")):
		s.authorizePage(w, newErr(400, "invalid_request", 50011, "Only loopback http redirect URIs are registered."))
		return
	}
	redirect := q.Get("redirect_uri")
	state := q.Get("state")
	subject := q.Get("login_hint")
	if subject == "" {
		subject = s.opts.DefaultSubject
	}
	rec.Subject = subject
	fail := func(e *msError) {
		if sw, ok := w.(*statusWriter); ok {
			sw.err, sw.aadsts = e.code, e.aadsts
		}
		b := s.body(e)
		v := url.Values{"error": {b.Error}, "error_description": {b.ErrorDescription}, "error_codes": {strconv.Itoa(e.aadsts)},
			"trace_id": {b.TraceID}, "correlation_id": {b.CorrelationID}, "timestamp": {b.Timestamp}}
		if state != "" {
			v.Set("state", state)
		}
		s.redirectTo(w, q.Get("response_mode"), redirect, v)
	}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		fail(newErr(400, "unsupported_response_type", 700054, "Only response_type=code is supported."))
	case len(scopes) == 0:
		fail(newErr(400, "invalid_request", 70011, ""))
	case state == "":
		fail(newErr(400, "invalid_request", 900144, "Missing: 'state' (required by the simulator)."))
	case q.Get("code_challenge") == "":
		fail(newErr(400, "invalid_request", 9002325, "Missing: 'code_challenge'."))
	case q.Get("code_challenge_method") != "S256":
		fail(newErr(400, "invalid_request", 9002325, "The code_challenge_method must be S256."))
	case !validChallenge(q.Get("code_challenge")):
		fail(newErr(400, "invalid_request", 9002325, "The code_challenge is not a base64url SHA-256."))
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query" && q.Get("response_mode") != "form_post":
		fail(newErr(400, "invalid_request", 9002313, "Unsupported response_mode."))
	default:
		code := randToken(CodePrefix)
		s.mu.Lock()
		s.codes[code] = &authCode{
			clientID:    clientID,
			redirectURI: redirect,
			challenge:   q.Get("code_challenge"),
			scopes:      scopes,
			subject:     subject,
			tenantID:    s.tenantID(rt.tenant),
			nonce:       q.Get("nonce"),
			expires:     s.now().Add(codeTTL),
		}
		s.issued = append(s.issued, code)
		s.mu.Unlock()
		s.redirectTo(w, q.Get("response_mode"), redirect, url.Values{"code": {code}, "state": {state}, "session_state": {s.guid()}})
	}
}

// validChallenge accepts a base64url (unpadded) SHA-256: 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// redirectTo sends v to redirect by query (302) or by an auto-submitting
// form (response_mode=form_post).
func (s *Server) redirectTo(w http.ResponseWriter, mode, redirect string, v url.Values) {
	if mode == "form_post" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = formPostPage.Execute(w, struct {
			Action string
			Values url.Values
		}{redirect, v})
		return
	}
	u, _ := url.Parse(redirect) // validated by redirectAllowed
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// authorizePage shows an error that cannot be redirected.
func (s *Server) authorizePage(w http.ResponseWriter, e *msError) {
	if sw, ok := w.(*statusWriter); ok {
		sw.err, sw.aadsts = e.code, e.aadsts
	}
	b := s.body(e)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.status)
	_ = errorPage.Execute(w, b)
}

var formPostPage = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><title>Working...</title></head><body onload="document.forms[0].submit()">
<form method="POST" action="{{.Action}}">{{range $k, $vs := .Values}}{{range $vs}}
<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<noscript><button type="submit">Continue</button></noscript></form></body></html>
`))

var errorPage = template.Must(template.New("err").Parse(`<!DOCTYPE html>
<html><head><title>Sign in to your account</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>{{.ErrorDescription}}</p></body></html>
`))

// serveRevoke ends the grant of a known refresh or access token (RFC 7009:
// unknown tokens also get 200).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	if r.Method != http.MethodPost {
		s.writeError(w, newErr(400, "invalid_request", 900561, "Received a "+r.Method+" request."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, newErr(400, "invalid_request", 9002313, "The request body is not a form."))
		return
	}
	clientID, _ := clientAuth(r)
	rec.ClientID = clientID
	tok := r.PostForm.Get("token")
	if tok == "" {
		s.writeError(w, newErr(400, "invalid_request", 900144, "Missing: 'token'."))
		return
	}
	s.mu.Lock()
	var g *grant
	if rt := s.refresh[tok]; rt != nil {
		g = rt.g
	} else if at := s.access[tok]; at != nil {
		g = at.g
	}
	if g != nil && (clientID == "" || clientID == g.clientID) {
		g.revoked = true
		rec.Subject = g.subject
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// serveUserInfo returns the claims of the bearer access token's user.
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	at := s.access[tok]
	valid := ok && at != nil && !at.g.revoked && s.now().Before(at.expires)
	var g grant
	if valid {
		g = *at.g
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is missing, expired or revoked."`)
		http.Error(w, "invalid_token", http.StatusUnauthorized)
		return
	}
	rec.ClientID, rec.Subject = g.clientID, g.subject
	name, upn := User(g.subject)
	s.writeJSON(w, http.StatusOK, map[string]string{
		"sub": g.subject, "oid": objectID(g.subject), "tid": g.tenantID,
		"name": name, "preferred_username": upn, "email": upn,
	})
}
