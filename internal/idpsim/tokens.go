package idpsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Token prefixes make every issued secret easy to find in logs and dumps.
const (
	AccessPrefix  = "simAT-"
	RefreshPrefix = "simRT-"
	CodePrefix    = "simAC-"
	DevicePrefix  = "simDC-"
)

// spaLifetime is the fixed lifetime of a single-page-app grant.
const spaLifetime = 24 * time.Hour

// grant is one user's consent for one client: the family of refresh tokens
// that descend from one sign-in (or one Grant call).
type grant struct {
	id       string
	clientID string
	subject  string
	tenantID string
	scopes   []string
	created  time.Time
	spa      bool
	revoked  bool
	live     []*refreshToken // GraceWindow only: usable tokens in issue order, at most MaxLive
}

type refreshToken struct {
	value   string
	g       *grant
	issued  time.Time
	used    time.Time // zero until first exchanged
	dropped bool      // pushed out by MaxLive
}

type accessToken struct {
	g       *grant
	expires time.Time
	scope   string // the scopes it was issued for, space-separated (introspect.go)
	// Set by refresh_token grants (resources.go): the audience, the client
	// capabilities and the nbf claim the request's claims asked for.
	aud       string
	xmsCC     []string
	claimsNbf int64
}

// tokenResponse is Microsoft's successful token response.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// RefreshTokenExpiresIn is sent for SPA clients only, like Microsoft.
	RefreshTokenExpiresIn int64 `json:"refresh_token_expires_in,omitempty"`
}

// randToken returns prefix followed by 256 random bits, base64url.
func randToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand contract since Go 1.24)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// guid returns a random version-4 UUID string.
func (s *Server) guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Grant creates a grant for subject as if the user had signed in to clientID
// with scopes, and returns its first refresh token. The grant always carries
// offline access.
func (s *Server) Grant(clientID, subject string, scopes []string) (refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.newGrantLocked(clientID, subject, s.opts.TenantID, scopes)
	return s.newRefreshLocked(g).value
}

// newGrantLocked registers a new grant. s.mu must be held.
func (s *Server) newGrantLocked(clientID, subject, tenantID string, scopes []string) *grant {
	s.seq++
	g := &grant{
		id:       fmt.Sprintf("g%d", s.seq),
		clientID: clientID,
		subject:  subject,
		tenantID: tenantID,
		scopes:   slices.Clone(scopes),
		created:  s.now(),
		spa:      slices.Contains(s.opts.SPAClients, clientID),
	}
	s.grants[g.id] = g
	return g
}

// newRefreshLocked issues a refresh token for g, applying MaxLive under
// GraceWindow. s.mu must be held.
func (s *Server) newRefreshLocked(g *grant) *refreshToken {
	rt := &refreshToken{value: randToken(RefreshPrefix), g: g, issued: s.now()}
	s.refresh[rt.value] = rt
	s.issued = append(s.issued, rt.value)
	if s.opts.Rotation == GraceWindow {
		// Forget tokens that can no longer be used, then cap the live ones.
		g.live = append(g.live, rt)
		g.live = slices.DeleteFunc(g.live, func(t *refreshToken) bool { return s.checkLocked(t) != nil })
		for len(g.live) > s.opts.MaxLive {
			g.live[0].dropped = true
			g.live = g.live[1:]
		}
	}
	return rt
}

// lookupLocked finds a refresh token and says why it cannot be used, if it
// cannot. s.mu must be held.
func (s *Server) lookupLocked(value string) (*refreshToken, *msError) {
	rt := s.refresh[value]
	if rt == nil {
		return nil, newErr(400, "invalid_grant", 9002313, "The refresh token is malformed or unknown.")
	}
	return rt, s.checkLocked(rt)
}

// checkLocked applies expiry, revocation and the rotation policy to rt.
func (s *Server) checkLocked(rt *refreshToken) *msError {
	now := s.now()
	g := rt.g
	switch {
	case g.revoked:
		return newErr(400, "invalid_grant", 50173, fmt.Sprintf("The grant was issued on '%s' and has been revoked.", stamp(g.created)))
	case s.signInFrequencyOver(g, now):
		return s.signInFrequencyError(g)
	case g.spa && !now.Before(g.created.Add(spaLifetime)):
		return newErr(400, "invalid_grant", 700084, fmt.Sprintf("The token was issued on %s.", stamp(g.created)))
	case !now.Before(rt.issued.Add(s.opts.RefreshTTL)):
		return newErr(400, "invalid_grant", 700082, fmt.Sprintf("The token was issued on %s and was inactive for %s.", stamp(rt.issued), now.Sub(rt.issued).Round(time.Second)))
	case rt.dropped:
		return newErr(400, "invalid_grant", 70008, fmt.Sprintf("The refresh token was replaced by %d newer ones.", s.opts.MaxLive))
	case s.opts.Rotation == Strict && !rt.used.IsZero():
		return newErr(400, "invalid_grant", 70008, "The refresh token has already been used.")
	case s.opts.Rotation == GraceWindow && !rt.used.IsZero() && !now.Before(rt.used.Add(s.opts.Grace)):
		return newErr(400, "invalid_grant", 70008, fmt.Sprintf("The refresh token was used on %s and its grace period of %s has ended.", stamp(rt.used), s.opts.Grace))
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Valid reports whether a refresh_token grant with refreshToken would succeed
// now, faults aside.
func (s *Server) Valid(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.lookupLocked(refreshToken)
	return e == nil
}

// Revoke ends the grant refreshToken belongs to: every refresh token of it
// then gets invalid_grant AADSTS50173. It reports whether the token was known.
func (s *Server) Revoke(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refresh[refreshToken]
	if rt == nil {
		return false
	}
	rt.g.revoked = true
	return true
}

// RevokeGrant ends every grant of subject (as a password reset does) and
// returns how many were live.
func (s *Server) RevokeGrant(subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.grants {
		if g.subject == subject && !g.revoked {
			g.revoked = true
			n++
		}
	}
	return n
}

// Issued returns every access token, refresh token, id_token, authorization
// code and device code issued so far, oldest first.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// issueLocked builds a token response for g: a new access token, a rotated
// refresh token when withRefresh, and an id_token when the scopes include
// openid. s.mu must be held.
func (s *Server) issueLocked(g *grant, scopes []string, issuer, nonce string, withRefresh bool) tokenResponse {
	now := s.now()
	at := randToken(AccessPrefix)
	s.access[at] = &accessToken{g: g, expires: now.Add(s.opts.AccessTTL), scope: strings.Join(scopes, " ")}
	s.issued = append(s.issued, at)
	secs := int64((s.opts.AccessTTL + time.Second - 1) / time.Second)
	resp := tokenResponse{
		TokenType:    "Bearer",
		Scope:        strings.Join(scopes, " "),
		ExpiresIn:    secs,
		ExtExpiresIn: secs,
		AccessToken:  at,
	}
	if withRefresh {
		resp.RefreshToken = s.newRefreshLocked(g).value
		if g.spa {
			resp.RefreshTokenExpiresIn = int64(g.created.Add(spaLifetime).Sub(now) / time.Second)
		}
	}
	if slices.Contains(scopes, "openid") {
		resp.IDToken = s.idToken(g, issuer, nonce, now)
		s.issued = append(s.issued, resp.IDToken)
	}
	return resp
}

// IDClaims are the claims of the id_tokens the simulator issues.
type IDClaims struct {
	Issuer            string `json:"iss"`
	Audience          string `json:"aud"`
	Subject           string `json:"sub"`
	ObjectID          string `json:"oid"`
	TenantID          string `json:"tid"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	Nonce             string `json:"nonce,omitempty"`
	IssuedAt          int64  `json:"iat"`
	NotBefore         int64  `json:"nbf"`
	Expiry            int64  `json:"exp"`
	Version           string `json:"ver"`
	AuthTime          int64  `json:"auth_time,omitempty"` // the sign-in that started the grant
}

// User returns the display name and preferred_username the simulator shows
// for subject: "alice@x.test" → ("Alice", "alice@x.test"); "bob" → ("Bob",
// "bob@idpsim.test").
func User(subject string) (name, preferredUsername string) {
	preferredUsername = subject
	local, _, found := strings.Cut(subject, "@")
	if !found {
		preferredUsername = subject + "@idpsim.test"
	}
	if local == "" {
		return subject, preferredUsername
	}
	return strings.ToUpper(local[:1]) + local[1:], preferredUsername
}

// idToken returns a compact JWT: HS256 with Options.SigningKey, or alg
// "none" with an empty signature.
func (s *Server) idToken(g *grant, issuer, nonce string, now time.Time) string {
	name, upn := User(g.subject)
	c := IDClaims{
		Issuer:            issuer,
		Audience:          g.clientID,
		Subject:           g.subject,
		ObjectID:          objectID(g.subject),
		TenantID:          g.tenantID,
		Name:              name,
		PreferredUsername: upn,
		Nonce:             nonce,
		IssuedAt:          now.Unix(),
		NotBefore:         now.Unix(),
		Expiry:            now.Add(s.opts.AccessTTL).Unix(),
		Version:           "2.0",
		AuthTime:          g.created.Unix(),
	}
	alg := "none"
	if len(s.opts.SigningKey) > 0 {
		alg = "HS256"
	}
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": alg})
	body, _ := json.Marshal(c)
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(body)
	if alg == "none" {
		return signing + "."
	}
	m := hmac.New(sha256.New, s.opts.SigningKey)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// objectID derives a stable GUID-shaped oid from subject.
func objectID(subject string) string {
	b := sha256.Sum256([]byte("oid:" + subject))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
