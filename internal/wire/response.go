package wire

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

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
	// Reuse says the keeper reads one more request on this connection: the
	// one the handshake was for (keepers before it close after the ping).
	Reuse bool `json:"reuse,omitempty"`
}

// Token is the answer to OpToken. It formats and logs redacted.
type Token struct {
	AccessToken string    `json:"access_token"`
	Type        string    `json:"token_type"`
	Expiry      time.Time `json:"expires_at"`
	// Lifetime is the access token's lifetime as the provider issued it;
	// ShorterThanAsked says it is shorter than the MinValid asked for (the
	// token is served fresh, at most one refresh per half lifetime).
	Lifetime         time.Duration `json:"lifetime,omitempty"`
	ShorterThanAsked bool          `json:"shorter_than_asked,omitempty"`
	// Scopes are the scopes the token was issued for.
	Scopes []string `json:"scopes,omitempty"`
	// Username is who the account is signed in as (the id token's
	// preferred_username: a Microsoft account's UPN), what a mail server
	// expects as the XOAUTH2 user.
	Username string `json:"username,omitempty"`
}

// String never prints the token.
func (t Token) String() string {
	return fmt.Sprintf("Token{type=%s expiry=%s token=[redacted]}", t.Type, t.Expiry.Format(time.RFC3339))
}

// GoString never prints the token.
func (t Token) GoString() string { return t.String() }

// LogValue never logs the token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", t.Type), slog.Time("expiry", t.Expiry))
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

// Err returns nil for a successful response, else a *ResponseError (one
// wrapping ErrVersionMismatch for the refusal of another protocol version).
func (r Response) Err() error {
	if r.OK {
		return nil
	}
	code := r.Code
	if code == CodeOK {
		code = CodeFailure
	}
	var err error
	if code == CodeUsage && strings.HasPrefix(r.Error, ErrVersionMismatch.Error()+": ") {
		err = ErrVersionMismatch // ServerMismatch's refusal
	}
	return &ResponseError{Message: r.Error, Code: code, Err: err}
}

// ResponseError is a failure the keeper reported.
type ResponseError struct {
	Message string
	Code    int   // exit code suggestion, never 0
	Err     error // what it is, when known (ErrVersionMismatch), for errors.Is
}

func (e *ResponseError) Error() string { return e.Message }

// Unwrap returns Err.
func (e *ResponseError) Unwrap() error { return e.Err }

// ExitCode is the code the keeper reported.
func (e *ResponseError) ExitCode() int { return e.Code }
