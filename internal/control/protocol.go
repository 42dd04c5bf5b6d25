package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers branch on with errors.Is.
var (
	// ErrRunning: Listen found a live tokentray answering on the socket; the
	// caller is a second launch and should hand over (e.g. send OpShow) and exit.
	ErrRunning = errors.New("tokentray is already running")
	// ErrNotRunning: nobody listens on the socket; the CLI should fall back to
	// what is on disk.
	ErrNotRunning = errors.New("tokentray is not running")
)

// Ops of the protocol. There are deliberately no token operations: the CLI
// reads tokens through the engine in its own process, never over the socket.
const (
	OpPing    = "ping"    // liveness; answered by the server itself with PingInfo
	OpStatus  = "status"  // snapshot of every account (Data: the handler's JSON)
	OpRefresh = "refresh" // forced refresh of Account, or of all accounts with All
	OpShow    = "show"    // bring the window forward (second-launch hand-over)
	OpQuit    = "quit"    // stop the running instance
)

// allowedOps lists the ops in the order error messages name them.
var allowedOps = []string{OpPing, OpStatus, OpRefresh, OpShow, OpQuit}

// Exit code suggestions carried in Response.Code; the CLI exits with them.
const (
	CodeOK          = 0 // success
	CodeFailure     = 1 // the operation failed
	CodeUsage       = 2 // bad request or configuration (unknown op, malformed JSON, bad field)
	CodeNeedsSignIn = 3 // the account needs an interactive sign-in
)

// Protocol limits.
const (
	// MaxRequestSize bounds one request line, newline included.
	MaxRequestSize = 64 << 10
	// MaxResponseSize bounds one response line on the client side.
	MaxResponseSize = 16 << 20
	// DefaultTimeout is the read and write deadline of a connection and the
	// handler's time budget when a request names no Timeout.
	DefaultTimeout = 5 * time.Second
	// MaxTimeout is the largest Request.Timeout the server accepts (a refresh
	// of every account may take this long).
	MaxTimeout = 2 * time.Minute
)

// Request is one call. It travels as a single JSON object terminated by a
// newline; unknown fields are ignored so an older running instance still
// understands a newer CLI.
type Request struct {
	Op      string `json:"op"`
	Account string `json:"account,omitempty"`
	All     bool   `json:"all,omitempty"`
	// Timeout is the handler's time budget (JSON: integer nanoseconds);
	// 0 means DefaultTimeout, more than MaxTimeout is refused.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Response is the answer to one Request, a single JSON object terminated by
// a newline. When OK is false, Error says what went wrong and Code is not 0.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Code  int             `json:"code"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// PingInfo is the Data of a ping response.
type PingInfo struct {
	PID int `json:"pid"`
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

// ResponseError is a failure the running instance reported.
type ResponseError struct {
	Message string
	Code    int // exit code suggestion, never 0
}

func (e *ResponseError) Error() string {
	return "running instance: " + e.Message
}

// Validate reports whether the request is well-formed: a known op, a
// timeout within [0, MaxTimeout], and not both Account and All.
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
	case r.Timeout > MaxTimeout:
		return fmt.Errorf("timeout %v exceeds the maximum %v", r.Timeout, MaxTimeout)
	case r.All && r.Account != "":
		return fmt.Errorf("account and all are mutually exclusive")
	}
	return nil
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
