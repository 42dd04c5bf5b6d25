package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tokentray/tokentray/internal/wire"
)

// Errors callers branch on with errors.Is.
var (
	// ErrRunning: Listen found a live tokentray answering on the socket; the
	// caller is a second launch and should hand over (e.g. send OpShow) and exit.
	ErrRunning = errors.New("tokentray is already running")
	// ErrNotRunning: nobody listens on the socket; the CLI works in-process.
	ErrNotRunning = errors.New("tokentray is not running")
)

// Version is the tokentray release of this process, named in version
// mismatch messages. main sets it at start.
var Version = "dev"

// validate is wire's Request.Validate plus what only the keeper's side
// knows: the scope set of a token request (scoped.go).
func validate(r wire.Request) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return validateToken(r)
}

// decodeRequest parses and validates one request line (the trailing newline
// may be present). Errors never quote the input beyond the op name.
func decodeRequest(line []byte) (wire.Request, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return wire.Request{}, errors.New("malformed request: empty")
	}
	if len(line) > wire.MaxRequestSize {
		return wire.Request{}, fmt.Errorf("request too large: limit %d bytes", wire.MaxRequestSize)
	}
	if line[0] != '{' {
		return wire.Request{}, errors.New("malformed request: not a JSON object")
	}
	var r wire.Request
	if err := json.Unmarshal(line, &r); err != nil {
		return wire.Request{}, fmt.Errorf("malformed request: %s", jsonProblem(err))
	}
	if err := validate(r); err != nil {
		return wire.Request{}, err
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

// encodeLine marshals v as one JSON line.
func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
