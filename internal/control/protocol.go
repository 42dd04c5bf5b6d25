package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Errors callers branch on with errors.Is.
var (
	// ErrRunning: Listen found a live tokentray answering on the socket; the
	// caller is a second launch and should hand over (e.g. send OpShow) and exit.
	ErrRunning = errors.New("tokentray is already running")
	// ErrNotRunning: nobody listens on the socket; the CLI works in-process.
	ErrNotRunning = errors.New("tokentray is not running")
	// ErrVersionMismatch: the keeper on the socket speaks another protocol
	// version than this client. The error's text names both versions.
	ErrVersionMismatch = errors.New("control protocol version mismatch")
)

// ProtocolVersion is the version of the protocol this package speaks. A
// client sends it in every Request; the server refuses any other value with
// a message naming both versions, and answers ping with its own, so a client
// can tell the user which side to update. Bump it on any incompatible change.
const ProtocolVersion = 2

// Version is the tokentray release of this process, named in version
// mismatch messages. main sets it at start.
var Version = "dev"

// Ops of the protocol.
const (
	OpPing          = "ping"           // handshake and liveness; answered by the server itself with PingInfo
	OpInfo          = "info"           // the keeper's facts (Info)
	OpStatus        = "status"         // snapshot of every account, or of Account
	OpSubscribe     = "subscribe"      // stream: the current snapshot, then one per change (and show requests for a window)
	OpToken         = "token"          // an access token of Account valid for MinValid (Token)
	OpRefresh       = "refresh"        // forced refresh of Account, or of all accounts with All
	OpLogin         = "login"          // stream: interactive sign-in of Account (Device, NoBrowser; Secret: client secret)
	OpLogout        = "logout"         // sign Account out: revoke where possible, delete its secrets
	OpImport        = "import"         // adopt Secret as Account's refresh token
	OpAccountAdd    = "account_add"    // add Body (config.Account) to the file and the engine; Secret: client secret
	OpAccountRemove = "account_remove" // sign out, forget and remove Account from the file
	OpSettingsSave  = "settings_save"  // write Body (config.Settings) to the file; applies on restart
	OpRestart       = "restart"        // restart the keeper (settings apply)
	OpShow          = "show"           // open or bring forward the window (Tab, Account)
	OpQuit          = "quit"           // stop the keeper
	OpAccessLog     = "access_log"     // the tokens handed out, newest first ([]accesslog.Entry), of Account or all; at most Limit
)

// allowedOps lists the ops in the order error messages name them.
var allowedOps = []string{OpPing, OpInfo, OpStatus, OpSubscribe, OpToken, OpRefresh, OpLogin, OpLogout,
	OpImport, OpAccountAdd, OpAccountRemove, OpSettingsSave, OpRestart, OpShow, OpQuit, OpAccessLog}

// streaming reports whether op answers with events before its final
// Response (see Stream).
func streaming(op string) bool { return op == OpSubscribe || op == OpLogin }

// Events sent on streams.
const (
	EventSnapshot = "snapshot" // Data: engine.Snapshot
	EventShow     = "show"     // Data: Show (only to a subscriber with Request.Window)
	EventDevice   = "device"   // Data: DeviceCode (login --device)
	EventPrint    = "print"    // Data: a JSON string the client prints on stderr (login --no-browser)
)

// Exit code suggestions carried in Response.Code; the CLI exits with them.
const (
	CodeOK          = 0 // success
	CodeFailure     = 1 // the operation failed
	CodeUsage       = 2 // bad request or configuration (unknown op, malformed JSON, bad field, version mismatch)
	CodeNeedsSignIn = 3 // the account needs an interactive sign-in
)

// Protocol limits.
const (
	// MaxRequestSize bounds one request line, newline included.
	MaxRequestSize = 64 << 10
	// MaxResponseSize bounds one response or event line on the client side.
	MaxResponseSize = 16 << 20
	// DefaultTimeout is the read and write deadline of a connection and the
	// handler's time budget when a request names no Timeout.
	DefaultTimeout = 5 * time.Second
	// MaxTimeout is the largest Request.Timeout the server accepts (a refresh
	// of every account may take this long).
	MaxTimeout = 2 * time.Minute
	// MaxLoginTimeout is the largest Timeout of OpLogin: a device code is
	// typically valid for 15 minutes.
	MaxLoginTimeout = 20 * time.Minute
	// MaxConns bounds the connections served at once; up to MaxQueued
	// more wait for a slot (at most MaxTimeout), beyond that they are
	// refused with a Busy response, which Client retries with backoff.
	// MaxStreams bounds the subscriptions and logins among them.
	MaxConns   = 64
	MaxQueued  = 1024
	MaxStreams = 16
)

// maxTimeout is the largest Timeout op accepts.
func maxTimeout(op string) time.Duration {
	if op == OpLogin {
		return MaxLoginTimeout
	}
	return MaxTimeout
}

// Request is one call. It travels as a single JSON object terminated by a
// newline; unknown fields are ignored. Secret is never logged or echoed:
// Request formats and logs redacted.
type Request struct {
	Proto   int    `json:"proto"`            // ProtocolVersion of the client
	Client  string `json:"client,omitempty"` // the client's tokentray version, for messages
	Op      string `json:"op"`
	Account string `json:"account,omitempty"`
	All     bool   `json:"all,omitempty"`
	// Timeout is the handler's time budget (JSON: integer nanoseconds);
	// 0 means DefaultTimeout, more than MaxTimeout (MaxLoginTimeout for
	// login) is refused. Subscriptions have no budget: they last until
	// either side closes.
	Timeout   time.Duration `json:"timeout,omitempty"`
	MinValid  time.Duration `json:"min_valid,omitempty"`  // token: valid for at least this long
	Device    bool          `json:"device,omitempty"`     // login: device code flow
	NoBrowser bool          `json:"no_browser,omitempty"` // login: the URL is printed by the client instead of opened
	// Secret is the refresh token of OpImport, or the client secret of a
	// confidential client for OpLogin and OpAccountAdd.
	Secret string          `json:"secret,omitempty"`
	Tab    string          `json:"tab,omitempty"`    // show: TabAccounts, TabSettings, TabSignIn
	Window bool            `json:"window,omitempty"` // subscribe: the subscriber is the window (it receives show events)
	Demo   bool            `json:"demo,omitempty"`   // restart: into the demo ("Try the demo account")
	Body   json.RawMessage `json:"body,omitempty"`   // account_add: config.Account; settings_save: config.Settings
	// token: a per-resource scope set (one scope per element; scoped.go),
	// and a claims challenge (base64 of the JSON, as in WWW-Authenticate)
	// that forces a refresh carrying it.
	Scopes []string `json:"scopes,omitempty"`
	Claims string   `json:"claims,omitempty"`
	Limit  int      `json:"limit,omitempty"` // access_log: at most this many entries (0: MaxAccessLogLimit)
}

// MaxClientLen bounds Request.Client (a tokentray version such as
// "1.4.0-12-gabcdef"): it reaches the access log.
const MaxClientLen = 64

// MaxAccessLogLimit is the largest Request.Limit (the entries a keeper keeps).
const MaxAccessLogLimit = 500

// Tabs of OpShow.
const (
	TabAccounts = "accounts"
	TabSettings = "settings"
	TabSignIn   = "signin" // sign Account in
)

// String never prints Secret.
func (r Request) String() string {
	s := fmt.Sprintf("Request{op=%s account=%q}", r.Op, r.Account)
	return s
}

// GoString never prints Secret.
func (r Request) GoString() string { return r.String() }

// LogValue logs the op alone: accounts, bodies and secrets stay out of logs.
func (r Request) LogValue() slog.Value { return slog.StringValue(r.Op) }

// Response is the answer to one Request, a single JSON object terminated by
// a newline. When OK is false, Error says what went wrong and Code is not 0.
// On a stream, lines with Event set come first; the line without Event ends
// the stream.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Code  int             `json:"code"`
	Event string          `json:"event,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	// Busy marks a refusal for load (every connection slot taken): the
	// request was not read, and sending it again later may succeed.
	Busy bool `json:"busy,omitempty"`
}

// PingInfo is the Data of a ping response: the handshake.
type PingInfo struct {
	PID     int    `json:"pid"`
	Proto   int    `json:"proto"`   // 0 from keepers older than protocol 2
	Version string `json:"version"` // tokentray release of the keeper
}

// Result returns a successful Response whose Data is v encoded as JSON
// (v == nil: no Data). An unencodable v yields a failure Response.
func Result(v any) Response {
	if v == nil {
		return Response{OK: true}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Failure(CodeFailure, fmt.Errorf("encode response data: %w", err))
	}
	return Response{OK: true, Data: b}
}

// Failure returns a failed Response with err's message and the exit code
// suggestion code (0 becomes CodeFailure). err's text travels to the client:
// it must not hold a secret, like every error in tokentray.
func Failure(code int, err error) Response {
	if code == CodeOK {
		code = CodeFailure
	}
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	return Response{OK: false, Error: msg, Code: code}
}

// Err returns nil for a successful response, else a *ResponseError.
func (r Response) Err() error {
	if r.OK {
		return nil
	}
	code := r.Code
	if code == CodeOK {
		code = CodeFailure
	}
	return &ResponseError{Message: r.Error, Code: code}
}

// ResponseError is a failure the keeper reported.
type ResponseError struct {
	Message string
	Code    int // exit code suggestion, never 0
}

func (e *ResponseError) Error() string { return e.Message }

// Validate reports whether the request is well-formed: a known op, a
// timeout within [0, the op's maximum], not both Account and All, and free
// strings within their limits (Client, Account, Claims).
func (r Request) Validate() error {
	known := false
	for _, op := range allowedOps {
		if r.Op == op {
			known = true
			break
		}
	}
	switch {
	case r.Op == "":
		return fmt.Errorf("missing op (allowed: %s)", strings.Join(allowedOps, ", "))
	case !known:
		return fmt.Errorf("unknown op %q (allowed: %s)", truncate(r.Op, 40), strings.Join(allowedOps, ", "))
	case r.Timeout < 0:
		return fmt.Errorf("timeout %v is negative", r.Timeout)
	case r.Timeout > maxTimeout(r.Op):
		return fmt.Errorf("timeout %v exceeds the maximum %v", r.Timeout, maxTimeout(r.Op))
	case r.MinValid < 0 || r.MinValid > time.Hour:
		return fmt.Errorf("min_valid %v is out of range; allowed: 0s–1h", r.MinValid)
	case r.All && r.Account != "":
		return fmt.Errorf("account and all are mutually exclusive")
	case len(r.Client) > MaxClientLen:
		return fmt.Errorf("client of %d bytes is too long; limit %d", len(r.Client), MaxClientLen)
	case len(r.Account) > 200:
		return fmt.Errorf("account name of %d bytes is too long; limit 200", len(r.Account))
	case r.Limit < 0 || r.Limit > MaxAccessLogLimit:
		return fmt.Errorf("limit %d is out of range; allowed: 0–%d", r.Limit, MaxAccessLogLimit)
	}
	if err := r.validateToken(); err != nil {
		return err
	}
	switch r.Tab {
	case "", TabAccounts, TabSettings, TabSignIn:
	default:
		return fmt.Errorf("unknown tab %q (allowed: %s, %s, %s)", truncate(r.Tab, 40), TabAccounts, TabSettings, TabSignIn)
	}
	return nil
}

// mismatch is the refusal of a request from another protocol version.
func mismatch(clientProto int, clientVersion string) error {
	cv := clientVersion
	if cv == "" {
		cv = "an older release"
	}
	return fmt.Errorf("%w: this client is tokentray %s (control protocol %d), the running keeper is tokentray %s (control protocol %d); "+
		"quit the keeper (tokentray quit) and start the version you want, or use the matching client",
		ErrVersionMismatch, cv, clientProto, Version, ProtocolVersion)
}

// decodeRequest parses and validates one request line (the trailing newline
// may be present). Errors never quote the input beyond the op name.
func decodeRequest(line []byte) (Request, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Request{}, errors.New("malformed request: empty")
	}
	if len(line) > MaxRequestSize {
		return Request{}, fmt.Errorf("request too large: limit %d bytes", MaxRequestSize)
	}
	if line[0] != '{' {
		return Request{}, errors.New("malformed request: not a JSON object")
	}
	var r Request
	if err := json.Unmarshal(line, &r); err != nil {
		return Request{}, fmt.Errorf("malformed request: %s", jsonProblem(err))
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// jsonProblem describes a decoding error without echoing input values.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	default:
		return "invalid JSON"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// encodeLine marshals v as one JSON line.
func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
