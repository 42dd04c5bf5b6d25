package vault

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	secretRT = "rt-SECRET-0.AbCdEf"
	secretAT = "eyJ0eXAiOiJKV1QiSECRET"
	secretCS = "cs-SECRET~value"
)

func fullEnvelope() Envelope {
	return Envelope{
		Version:      CurrentVersion,
		RefreshToken: secretRT,
		AccessToken:  secretAT,
		Expiry:       time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		TokenType:    "Bearer",
		Scopes:       []string{"openid", "offline_access", "https://graph.microsoft.com/.default"},
		ObtainedAt:   time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		Claims:       Claims{Name: "Zoë Müller", PreferredUsername: "zoe@example.com", TenantID: "tid-1", Subject: "sub-1"},
		ClientSecret: secretCS,
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Envelope
	}{
		{"refresh token only", Envelope{RefreshToken: secretRT}},
		{"full", fullEnvelope()},
		{"version ignored on encode", Envelope{Version: 7, RefreshToken: secretRT}},
		{"non-utc times", Envelope{RefreshToken: "x", Expiry: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode() = %v", err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode()) = %v", err)
			}
			want := tt.in
			want.Version = CurrentVersion
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decode(Encode()) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeLeavesOutZeroValues(t *testing.T) {
	b, err := Encode(Envelope{RefreshToken: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"v":1,"rt":"r"}`; got != want {
		t.Errorf("Encode() = %s; want %s", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, data string
		wantText   string
	}{
		{"empty", ``, "empty"},
		{"not json", `rt-SECRET-0.AbCdEf`, "not a JSON object"},
		{"array", `["rt-SECRET"]`, "not a JSON object"},
		{"truncated", `{"v":1,"rt":"rt-SECRET-0`, "not a JSON object"},
		{"no version", `{"rt":"rt-SECRET-0.AbCdEf"}`, "no format version"},
		{"version string", `{"v":"1","rt":"x"}`, "not an integer"},
		{"version zero", `{"v":0,"rt":"x"}`, "version 0 is invalid"},
		{"future version", `{"v":2,"rt":"x","new":true}`, "version 2 is newer than this tokentray understands"},
		{"wrong type", `{"v":1,"rt":12345}`, `field "rt" is a JSON number`},
		{"bad time", `{"v":1,"rt":"x","exp":"rt-SECRET-yesterday"}`, "does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.data))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%q) = %v; want ErrCorrupt", tt.data, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Decode(%q) = %q; want it to contain %q", tt.data, err, tt.wantText)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("Decode(%q) error %q quotes the data", tt.data, err)
			}
		})
	}
}

func TestEnvelopeNeverPrintsSecrets(t *testing.T) {
	e := fullEnvelope()
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("saved", "env", e, "ptr", &e)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("saved", "env", e)
	outputs := map[string]string{"slog": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outputs[verb] = fmt.Sprintf(verb, e)
		outputs[verb+" ptr"] = fmt.Sprintf(verb, &e)
		outputs[verb+" slice"] = fmt.Sprintf(verb, []Envelope{e})
		outputs[verb+" struct"] = fmt.Sprintf(verb, struct{ E Envelope }{e})
	}
	outputs["error"] = fmt.Errorf("save %v: %w", e, ErrTimeout).Error()
	for name, out := range outputs {
		for _, secret := range []string{secretRT, secretAT, secretCS, "SECRET"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output %q contains a secret", name, out)
			}
		}
	}
	if s := e.String(); !strings.Contains(s, "zoe@example.com") || !strings.Contains(s, "rt:<redacted>") {
		t.Errorf("String() = %q; want the username and rt:<redacted>", s)
	}
	if s := (Envelope{}).String(); !strings.Contains(s, "rt:<none>") {
		t.Errorf("String() of empty = %q; want rt:<none>", s)
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, e := range []Envelope{{RefreshToken: "r"}, fullEnvelope()} {
		b, _ := Encode(e)
		f.Add(b)
	}
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"scp":null,"claims":{"name":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode() = %v; want ErrCorrupt", err)
			}
			return
		}
		b, err := Encode(e)
		if err != nil {
			if strings.Contains(err.Error(), "out of range") {
				return // a year beyond 9999 decodes but does not encode
			}
			t.Fatalf("Encode(Decode()) = %v", err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode())) = %v", err)
		}
		if diff := cmp.Diff(e, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
