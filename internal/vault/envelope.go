package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// CurrentVersion is the envelope format version Encode writes.
const CurrentVersion = 1

// maxEnvelopeSize bounds what Decode accepts; real envelopes are a few KiB.
const maxEnvelopeSize = 4 << 20

// Envelope is everything tokentray stores for one account.
// Its String, GoString, Format and LogValue methods never print a secret.
type Envelope struct {
	Version      int       `json:"v"`
	RefreshToken string    `json:"rt"`
	AccessToken  string    `json:"at,omitempty"`
	Expiry       time.Time `json:"exp,omitempty"`
	TokenType    string    `json:"typ,omitempty"`
	Scopes       []string  `json:"scp,omitempty"`
	ObtainedAt   time.Time `json:"obt,omitempty"`
	Claims       Claims    `json:"claims,omitempty"`
	ClientSecret string    `json:"cs,omitempty"`
}

// Claims are the id-token claims kept for display. They are not secrets.
type Claims struct {
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	TenantID          string `json:"tid,omitempty"`
	Subject           string `json:"sub,omitempty"`
}

// wireEnvelope is the stored form: like Envelope but leaving out zero values.
type wireEnvelope struct {
	Version      int       `json:"v"`
	RefreshToken string    `json:"rt"`
	AccessToken  string    `json:"at,omitempty"`
	Expiry       time.Time `json:"exp,omitzero"`
	TokenType    string    `json:"typ,omitempty"`
	Scopes       []string  `json:"scp,omitempty"`
	ObtainedAt   time.Time `json:"obt,omitzero"`
	Claims       Claims    `json:"claims,omitzero"`
	ClientSecret string    `json:"cs,omitempty"`
}

// Encode returns the stored form of e at CurrentVersion. e.Version is
// ignored: Encode always writes the format it knows.
func Encode(e Envelope) ([]byte, error) {
	w := wireEnvelope(e)
	w.Version = CurrentVersion
	b, err := json.Marshal(w)
	if err != nil {
		// Only unencodable times (years outside 0–9999) get here; the
		// message names no value.
		return nil, errors.New("encode envelope: a time field is out of range")
	}
	return b, nil
}

// Decode parses a stored envelope. Every failure wraps ErrCorrupt (also a
// format version newer than CurrentVersion, whose message says to upgrade);
// error texts never quote the data. Decode never panics.
func Decode(data []byte) (Envelope, error) {
	if len(data) == 0 {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope is empty")
	}
	if len(data) > maxEnvelopeSize {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope is %d bytes, more than the %d allowed", len(data), maxEnvelopeSize)
	}
	var head struct {
		Version *json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope is not a JSON object (%s)", jsonProblem(err))
	}
	if head.Version == nil {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope has no format version")
	}
	var v int
	if err := json.Unmarshal(*head.Version, &v); err != nil {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope format version is not an integer")
	}
	switch {
	case v > CurrentVersion:
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope format version %d is newer than this tokentray understands (up to %d): upgrade tokentray or sign in again", v, CurrentVersion)
	case v < 1:
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope format version %d is invalid", v)
	}
	var w wireEnvelope
	if err := json.Unmarshal(data, &w); err != nil {
		return Envelope{}, newClassError(ErrCorrupt, nil, "envelope does not decode (%s)", jsonProblem(err))
	}
	return Envelope(w), nil
}

// jsonProblem describes a JSON decoding error without quoting any of the
// input (a syntax error's text would include a byte of the secret).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("field %q is a JSON %s, want %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "invalid JSON"
	}
}

func secretState(s string) string {
	if s == "" {
		return "<none>"
	}
	return "<redacted>"
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339)
}

// String describes e without any secret: tokens and the client secret show
// only whether they are set.
func (e Envelope) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vault.Envelope{v:%d rt:%s at:%s exp:%s typ:%q scp:%q obt:%s claims:%+v cs:%s}",
		e.Version, secretState(e.RefreshToken), secretState(e.AccessToken), timeString(e.Expiry),
		e.TokenType, e.Scopes, timeString(e.ObtainedAt), e.Claims, secretState(e.ClientSecret))
	return b.String()
}

// GoString is String: %#v never prints a secret either.
func (e Envelope) GoString() string { return e.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, %x ...) print the
// redacted String.
func (e Envelope) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, e.String()) }

// LogValue makes slog log the redacted form.
func (e Envelope) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("v", e.Version),
		slog.String("rt", secretState(e.RefreshToken)),
		slog.String("at", secretState(e.AccessToken)),
		slog.String("exp", timeString(e.Expiry)),
		slog.String("typ", e.TokenType),
		slog.Any("scp", e.Scopes),
		slog.String("obt", timeString(e.ObtainedAt)),
		slog.String("user", e.Claims.PreferredUsername),
		slog.String("cs", secretState(e.ClientSecret)),
	)
}
