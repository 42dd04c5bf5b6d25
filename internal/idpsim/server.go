// Package idpsim owns an in-process OAuth 2.0 / OpenID Connect server that
// behaves like the Microsoft identity platform v2.0 endpoints: discovery,
// auto-approving authorize, token (authorization code + PKCE, refresh token,
// device code), revoke, Microsoft-shaped error bodies, per-resource audiences
// and a CAE resource endpoint (resources.go), refresh-token rotation
// policies and fault injection. It serves the demo, tests and benchmarks.
package idpsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rotation says what happens to a refresh token once it has been exchanged.
type Rotation int

const (
	// MicrosoftLike keeps every issued refresh token of a grant valid until
	// its own RefreshTTL ends, used or not (what the Microsoft identity
	// platform does).
	MicrosoftLike Rotation = iota
	// GraceWindow keeps a used refresh token valid for Options.Grace after
	// its first use; a grant has at most Options.MaxLive live refresh tokens,
	// the oldest is dropped when a new one is issued.
	GraceWindow
	// Strict rejects a used refresh token at once with invalid_grant.
	Strict
)

// String names the policy ("microsoft", "grace", "strict").
func (r Rotation) String() string {
	switch r {
	case MicrosoftLike:
		return "microsoft"
	case GraceWindow:
		return "grace"
	case Strict:
		return "strict"
	}
	return "rotation(" + strconv.Itoa(int(r)) + ")"
}

// ParseRotation is the inverse of Rotation.String.
func ParseRotation(name string) (Rotation, error) {
	for _, r := range []Rotation{MicrosoftLike, GraceWindow, Strict} {
		if r.String() == name {
			return r, nil
		}
	}
	return 0, fmt.Errorf("idpsim: unknown rotation %q (want microsoft, grace or strict)", name)
}

// Options configures a Server. The zero value is usable: every zero field
// takes the default named in its comment.
type Options struct {
	// BaseURL, when set (e.g. "http://127.0.0.1:8080"), is used in discovery
	// documents, issuers and redirects instead of "http://" + r.Host.
	BaseURL string
	// AccessTTL is the access-token lifetime (expires_in); default 1h.
	// Any positive duration works; expires_in is rounded up to whole seconds.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token stays valid after it was issued
	// (Microsoft: 90 days of inactivity); default 90 days. After it, the
	// token gets invalid_grant AADSTS700082.
	RefreshTTL time.Duration
	// Rotation is the refresh-token policy; default MicrosoftLike.
	Rotation Rotation
	// Grace is how long a used refresh token stays valid under GraceWindow;
	// default 1h.
	Grace time.Duration
	// MaxLive caps live refresh tokens per grant under GraceWindow; default 10.
	MaxLive int
	// ReuseRevokes, under Strict, ends the whole grant when a used refresh
	// token is presented again (OAuth 2.1 reuse detection, as fosite does):
	// the newest token then fails too, with AADSTS50173.
	ReuseRevokes bool
	// Clock is the time source; default time.Now, which is the fake clock
	// inside a synctest bubble (create the Server inside the bubble).
	Clock func() time.Time
	// DateOffset is added to the Date response header, to simulate a server
	// whose clock is off.
	DateOffset time.Duration

	// TenantID is the tid claim for requests whose path tenant is not a GUID
	// (common, organizations, consumers, a domain, or no tenant at all);
	// default DefaultTenantID.
	TenantID string
	// Clients, when non-empty, lists the accepted client IDs; others get
	// unauthorized_client AADSTS700016. Empty accepts any client ID.
	Clients []string
	// ClientSecrets makes the listed clients confidential: token requests
	// must carry the secret (form or HTTP Basic), else 401 invalid_client
	// AADSTS7000215.
	ClientSecrets map[string]string
	// SPAClients are single-page-app registrations: token requests must carry
	// an Origin header (else AADSTS9002327) and their refresh tokens live a
	// fixed 24h (then AADSTS700084).
	SPAClients []string
	// RedirectURIs lists extra accepted redirect URIs besides loopback
	// http://127.0.0.1, [::1] and localhost URIs (any port, any path).
	RedirectURIs []string
	// DefaultSubject is the user the authorize and device endpoints sign in
	// when the request carries no login_hint; default "user@idpsim.test".
	DefaultSubject string
	// SigningKey, when set, signs id_tokens with HS256; otherwise id_tokens
	// are unsigned (alg "none", empty signature).
	SigningKey []byte

	// DeviceInterval is the polling interval advertised by the devicecode
	// endpoint, rounded up to whole seconds; default 5s.
	DeviceInterval time.Duration
	// DeviceTTL is the device-code lifetime; default 15m.
	DeviceTTL time.Duration
	// AutoApproveDevice, when > 0, approves a device code on its Nth poll
	// (earlier polls get authorization_pending). 0 waits for ApproveDevice.
	AutoApproveDevice int

	// SignInFrequency, when > 0, is a Conditional Access sign-in frequency
	// policy: a refresh token redeemed that long or longer after the sign-in
	// (the id_token's auth_time) gets invalid_grant AADSTS70043 naming the
	// limit in seconds, as Entra words it. The limit never slides.
	SignInFrequency time.Duration
}

// DefaultTenantID is the tid used when Options.TenantID is empty.
const DefaultTenantID = "5151d000-0000-4000-8000-00000000a1d5"

// Server is the simulator. It is an http.Handler; all methods are safe for
// concurrent use.
type Server struct {
	opts Options

	mu      sync.Mutex
	grants  map[string]*grant        // by grant id
	refresh map[string]*refreshToken // by token value
	access  map[string]*accessToken  // by token value
	codes   map[string]*authCode     // by code value
	devices map[string]*deviceCode   // by device_code
	users   map[string]*deviceCode   // by user_code
	issued  []string
	log     []RequestRecord
	faults  []Fault
	faultFn func(*http.Request) *Fault
	seq     uint64
	res     *resourceState // resources.go; created on first use
}

// New returns a Server with o's defaults filled in.
func New(o Options) *Server {
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 90 * 24 * time.Hour
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.MaxLive <= 0 {
		o.MaxLive = 10
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.DefaultSubject == "" {
		o.DefaultSubject = "user@idpsim.test"
	}
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = 5 * time.Second
	}
	o.DeviceInterval = (o.DeviceInterval + time.Second - 1).Truncate(time.Second)
	if o.DeviceTTL <= 0 {
		o.DeviceTTL = 15 * time.Minute
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return &Server{
		opts:    o,
		grants:  map[string]*grant{},
		refresh: map[string]*refreshToken{},
		access:  map[string]*accessToken{},
		codes:   map[string]*authCode{},
		devices: map[string]*deviceCode{},
		users:   map[string]*deviceCode{},
	}
}

// Endpoints are the URLs of one route family of the simulator.
type Endpoints struct {
	Issuer, Discovery, Auth, Token, Device, Revoke, UserInfo, JWKS string
}

// EndpointsFor returns the endpoint URLs under base for tenant; tenant ""
// gives the plain OIDC routes, whose issuer is base itself.
func EndpointsFor(base, tenant string) Endpoints {
	base = strings.TrimRight(base, "/")
	p := base
	iss := base
	disc := base + "/.well-known/openid-configuration"
	if tenant != "" {
		p = base + "/" + tenant
		iss = p + "/v2.0"
		disc = iss + "/.well-known/openid-configuration"
	}
	return Endpoints{
		Issuer:    iss,
		Discovery: disc,
		Auth:      p + "/oauth2/v2.0/authorize",
		Token:     p + "/oauth2/v2.0/token",
		Device:    p + "/oauth2/v2.0/devicecode",
		Revoke:    p + "/oauth2/v2.0/revoke",
		UserInfo:  base + "/oidc/userinfo",
		JWKS:      p + "/discovery/v2.0/keys",
	}
}

// Issuer returns the issuer of the plain OIDC routes under base (base
// without a trailing slash); Discover(issuer) finds
// issuer + "/.well-known/openid-configuration".
func (s *Server) Issuer(base string) string { return strings.TrimRight(base, "/") }

// route is a parsed request path.
type route struct {
	endpoint string // token, authorize, ...
	tenant   string
}

// parseRoute maps a path to an endpoint, "" when there is none.
func parseRoute(path string) route {
	p := strings.Trim(path, "/")
	switch p {
	case ".well-known/openid-configuration":
		return route{endpoint: "discovery"}
	case "revoke":
		return route{endpoint: "revoke"}
	case "device":
		return route{endpoint: "device"}
	case "oidc/userinfo":
		return route{endpoint: "userinfo"}
	case "resource":
		return route{endpoint: "resource"}
	case "introspect":
		return route{endpoint: "introspect"}
	}
	if r := tenantRoute(p); r.endpoint != "" && r.endpoint != "discovery" {
		return r // a plain route; its discovery is the one above
	}
	tenant, rest, ok := strings.Cut(p, "/")
	if !ok || tenant == "" {
		return route{}
	}
	r := tenantRoute(rest)
	if r.endpoint == "" {
		return route{}
	}
	r.tenant = tenant
	return r
}

// tenantRoute maps the part of a path after the optional tenant.
func tenantRoute(p string) route {
	switch p {
	case "v2.0/.well-known/openid-configuration":
		return route{endpoint: "discovery"}
	case "oauth2/v2.0/authorize":
		return route{endpoint: "authorize"}
	case "oauth2/v2.0/token":
		return route{endpoint: "token"}
	case "oauth2/v2.0/devicecode":
		return route{endpoint: "devicecode"}
	case "oauth2/v2.0/revoke":
		return route{endpoint: "revoke"}
	case "oauth2/v2.0/introspect":
		return route{endpoint: "introspect"}
	case "discovery/v2.0/keys":
		return route{endpoint: "jwks"}
	}
	return route{}
}

// base returns the simulator's base URL as seen by r.
func (s *Server) base(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// tenantID is the tid for a request through path tenant.
func (s *Server) tenantID(tenant string) string {
	if isGUID(tenant) {
		return strings.ToLower(tenant)
	}
	return s.opts.TenantID
}

func isGUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i, c := range v {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// ServeHTTP serves every simulator endpoint and records the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := parseRoute(r.URL.Path)
	rec := RequestRecord{Time: s.now(), Endpoint: rt.endpoint, Tenant: rt.tenant}
	if rec.Endpoint == "" {
		rec.Endpoint = "notfound"
	}
	sw := &statusWriter{ResponseWriter: w, s: s, rec: &rec}
	defer sw.commit(0) // no response: reset, or the client left
	s.setDate(sw)
	switch rt.endpoint {
	case "discovery":
		s.serveDiscovery(sw, r, rt)
	case "jwks":
		s.writeJSON(sw, http.StatusOK, map[string]any{"keys": []any{}})
	case "authorize":
		s.serveAuthorize(sw, r, rt, &rec)
	case "token":
		s.serveToken(sw, r, rt, &rec)
	case "devicecode":
		s.serveDeviceCode(sw, r, rt, &rec)
	case "device":
		s.serveDevicePage(sw, r, &rec)
	case "revoke":
		s.serveRevoke(sw, r, &rec)
	case "userinfo":
		s.serveUserInfo(sw, r, &rec)
	case "resource":
		s.serveResource(sw, r)
	case "introspect":
		s.serveIntrospect(sw, r, &rec) // introspect.go
	default:
		http.NotFound(sw, r)
	}
}

// serveDiscovery writes an OpenID configuration shaped like Microsoft's.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, rt route) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	e := EndpointsFor(s.base(r), rt.tenant)
	s.writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                e.Issuer,
		"authorization_endpoint":                e.Auth,
		"token_endpoint":                        e.Token,
		"device_authorization_endpoint":         e.Device,
		"revocation_endpoint":                   e.Revoke,
		"userinfo_endpoint":                     e.UserInfo,
		"jwks_uri":                              e.JWKS,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "none"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "form_post"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", deviceGrant},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{s.idAlg()},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "name", "preferred_username", "oid", "tid", "nonce", "ver"},
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "idpsim.test",
	})
}

func (s *Server) idAlg() string {
	if len(s.opts.SigningKey) > 0 {
		return "HS256"
	}
	return "none"
}
