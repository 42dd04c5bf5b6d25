// Package azuremi serves the App Service managed-identity protocol
// (api-version 2019-08-01) that every Azure SDK's DefaultAzureCredential and
// ManagedIdentityCredential read from IDENTITY_ENDPOINT and IDENTITY_HEADER,
// on loopback, for one account: the request checks (secret header, no
// browsers, no DNS rebinding, GET only), the answer's shape, and which
// local process sent a request.
package azuremi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// The protocol as the SDKs speak it.
const (
	APIVersion = "2019-08-01"        // the api-version query parameter
	HeaderName = "X-IDENTITY-HEADER" // carries IDENTITY_HEADER
	Path       = "/msi/token"        // the endpoint's path (App Service's)
)

// SecretBytes is the size of a new secret: 256 random bits.
const SecretBytes = 32

// NewSecret returns a new random secret for IDENTITY_HEADER (base64url,
// SecretBytes of entropy).
func NewSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make the endpoint secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Token is an access token to hand out.
type Token struct {
	AccessToken string
	Type        string // "Bearer" when empty
	Expiry      time.Time
}

// Error is a failure to answer with: the HTTP status, the provider's (or
// tokentray's) error code and a message for the SDK's error text. Messages
// never hold a token.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// TokenFunc returns a token for resource (the resource URI the SDK asked
// for, "/.default" trimmed). ctx is the request's: PeerPID reads it. A
// failure that is not an *Error is answered 500.
type TokenFunc func(ctx context.Context, resource string) (Token, error)

// Handler answers the requests of one account's endpoint. Everything but
// a GET of Path carrying the secret, with Host the listening address and
// no Origin, is refused before Token is called; no answer carries a CORS
// header.
type Handler struct {
	secret [sha256.Size]byte
	host   string
	token  TokenFunc
}

// NewHandler returns the handler of an endpoint listening on addr (its Host
// header must be addr exactly) whose requests must carry secret.
func NewHandler(addr netip.AddrPort, secret string, token TokenFunc) (*Handler, error) {
	if len(secret) < 22 { // 128 bits in base64
		return nil, errors.New("the endpoint secret is shorter than 128 bits")
	}
	if !addr.Addr().IsLoopback() {
		return nil, fmt.Errorf("endpoint address %s is not a loopback address", addr)
	}
	return &Handler{secret: sha256.Sum256([]byte(secret)), host: addr.String(), token: token}, nil
}

// URL is the endpoint's IDENTITY_ENDPOINT.
func (h *Handler) URL() string { return "http://" + h.host + Path }

// The answers' error codes of tokentray's own checks.
const (
	CodeMethod     = "method_not_allowed"
	CodeBrowser    = "browser_request"
	CodeHost       = "wrong_host"
	CodeNotFound   = "not_found"
	CodeNoSecret   = "missing_identity_header"
	CodeBadSecret  = "wrong_identity_header"
	CodeAPIVersion = "unsupported_api_version"
	CodeRequest    = "invalid_request"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if e := h.check(r); e != nil {
		if e.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodGet)
		}
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	ctx := withPeer(r.Context(), r)
	t, err := h.token(ctx, resource)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: err.Error()}
		}
		writeError(w, e)
		return
	}
	typ := t.Type
	if typ == "" {
		typ = "Bearer"
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": t.AccessToken,
		"expires_on":   strconv.FormatInt(t.Expiry.Unix(), 10),
		"resource":     resource,
		"token_type":   typ,
	})
}

// check refuses what is not an SDK's token request for this endpoint.
func (h *Handler) check(r *http.Request) *Error {
	if r.Method != http.MethodGet {
		return &Error{http.StatusMethodNotAllowed, CodeMethod, fmt.Sprintf("method %s is not allowed; the managed-identity endpoint answers GET only", r.Method)}
	}
	if _, ok := r.Header["Origin"]; ok {
		return &Error{http.StatusForbidden, CodeBrowser, "a request with an Origin header (a browser's) is refused"}
	}
	if r.Host != h.host {
		return &Error{http.StatusForbidden, CodeHost, fmt.Sprintf("Host %q is refused; the endpoint answers only for Host %s", r.Host, h.host)}
	}
	if r.URL.Path != Path {
		return &Error{http.StatusNotFound, CodeNotFound, fmt.Sprintf("no endpoint at %q; the managed-identity endpoint is %s", r.URL.Path, Path)}
	}
	got, ok := r.Header[http.CanonicalHeaderKey(HeaderName)]
	if !ok || len(got) == 0 {
		return &Error{http.StatusUnauthorized, CodeNoSecret, fmt.Sprintf("the request carries no %s header; set IDENTITY_HEADER with: eval \"$(tokentray env NAME --azure-sdk)\"", HeaderName)}
	}
	sum := sha256.Sum256([]byte(got[0]))
	if len(got) != 1 || subtle.ConstantTimeCompare(sum[:], h.secret[:]) != 1 {
		return &Error{http.StatusUnauthorized, CodeBadSecret, fmt.Sprintf("the %s header is not this endpoint's secret; set IDENTITY_HEADER again with: eval \"$(tokentray env NAME --azure-sdk)\"", HeaderName)}
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != APIVersion {
		return &Error{http.StatusBadRequest, CodeAPIVersion, fmt.Sprintf("api-version %q is not supported; want %s", v, APIVersion)}
	}
	for _, p := range []string{"client_id", "mi_res_id", "object_id", "principal_id"} {
		if q.Has(p) {
			return &Error{http.StatusBadRequest, CodeRequest, fmt.Sprintf("%s asks for a user-assigned identity; this endpoint serves one tokentray account as the system-assigned identity (unset AZURE_CLIENT_ID, or do not pass a managed identity ID)", p)}
		}
	}
	if q.Get("resource") == "" {
		return &Error{http.StatusBadRequest, CodeRequest, "the request names no resource; want resource=URI (for example https://management.azure.com)"}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *Error) {
	// App Service's shape (statusCode, message) and OAuth's (error,
	// error_description): SDKs print the body of a failed request.
	writeJSON(w, e.Status, map[string]any{
		"statusCode":        e.Status,
		"message":           e.Message,
		"error":             e.Code,
		"error_description": e.Message,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type peerKey struct{}

// ConnContext, as an http.Server's ConnContext, has the requests of one
// connection share one lookup of the sending process: an SDK that keeps
// its connection alive pays for it once (on Linux it reads every
// process's open files, milliseconds).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	l, err1 := netip.ParseAddrPort(c.LocalAddr().String())
	r, err2 := netip.ParseAddrPort(c.RemoteAddr().String())
	return context.WithValue(ctx, peerKey{}, sync.OnceValue(func() int {
		if err1 != nil || err2 != nil {
			return 0
		}
		return tcpPeerPID(l, r)
	}))
}

// withPeer returns ctx from which PeerPID finds r's sending process, looked
// up once, on the first call: the connection's lookup (ConnContext), or
// one of this request's own.
func withPeer(ctx context.Context, r *http.Request) context.Context {
	if _, ok := ctx.Value(peerKey{}).(func() int); ok {
		return ctx
	}
	local, _ := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	lookup := sync.OnceValue(func() int {
		if local == nil {
			return 0
		}
		l, err1 := netip.ParseAddrPort(local.String())
		rem, err2 := netip.ParseAddrPort(r.RemoteAddr)
		if err1 != nil || err2 != nil {
			return 0
		}
		return tcpPeerPID(l, rem)
	})
	return context.WithValue(ctx, peerKey{}, lookup)
}

// PeerPID returns the pid of the local process that sent the request whose
// TokenFunc got ctx, where the OS tells (Linux: the TCP peer's socket
// inode, found among the processes' open files); 0 when unknown. Call it
// while the request is being answered: the sender is still connected.
func PeerPID(ctx context.Context) int {
	f, ok := ctx.Value(peerKey{}).(func() int)
	if !ok {
		return 0
	}
	return f()
}
