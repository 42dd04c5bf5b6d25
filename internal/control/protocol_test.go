package control

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/wire"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in      string
		want    wire.Request
		wantErr string
	}{
		{in: `{"op":"ping"}`, want: wire.Request{Op: wire.OpPing}},
		{in: "  {\"op\":\"status\",\"account\":\"work\"}\r\n", want: wire.Request{Op: wire.OpStatus, Account: "work"}},
		{in: `{"op":"refresh","all":true,"timeout":120000000000}`, want: wire.Request{Op: wire.OpRefresh, All: true, Timeout: wire.MaxTimeout}},
		{in: `{"op":"show","future_field":[1,2]}`, want: wire.Request{Op: wire.OpShow}},
		{in: `{"op":"quit"}`, want: wire.Request{Op: wire.OpQuit}},
		{in: ``, wantErr: "malformed request: empty"},
		{in: `null`, wantErr: "not a JSON object"},
		{in: `"ping"`, wantErr: "not a JSON object"},
		{in: `{"op":"ping"`, wantErr: "invalid JSON"},
		{in: `{"op":1}`, wantErr: `field "op" must be string, not number`},
		{in: `{"op":"refresh","timeout":"2m"}`, wantErr: `field "timeout" must be time.Duration, not string`},
		{in: `{"op":"refresh","timeout":1.5}`, wantErr: `field "timeout" must be time.Duration, not number`},
		{in: `{"op":"PING"}`, wantErr: `unknown op "PING"`},
		{in: `{"op":"` + strings.Repeat("x", 100) + `"}`, wantErr: `unknown op "` + strings.Repeat("x", 40) + `..."`},
		{in: `{"op":"refresh","timeout":120000000001}`, wantErr: "exceeds the maximum 2m0s"},
		{in: `{"op":"ping"}` + strings.Repeat(" ", wire.MaxRequestSize), want: wire.Request{Op: wire.OpPing}}, // trimmed
		{in: `{"op":"ping","account":"` + strings.Repeat("a", wire.MaxRequestSize) + `"}`, wantErr: "request too large"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			got, err := decodeRequest([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decodeRequest(%.60q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeRequest(%.60q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decodeRequest(%.60q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// FuzzDecodeRequest: the decoder never panics; what it accepts is valid and
// survives an encode/decode round trip unchanged; errors stay short (they
// never echo the input beyond a truncated op).
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"ping"}`,
		`{"op":"refresh","account":"work","timeout":60000000000}`,
		`{"op":"refresh","all":true}`,
		`{"op":"status","account":"a","all":true}`,
		`{"op":"token"}`,
		`{"op":`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := decodeRequest(in)
		if err != nil {
			// Bounded whatever the input: a short quote of the bad value,
			// plus at most the list of allowed ops.
			if limit := 120 + len(strings.Join(wire.AllowedOps, ", ")); len(err.Error()) > limit {
				t.Errorf("error is %d bytes long (limit %d): %.80q", len(err.Error()), limit, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted %+v fails Validate: %v", r, err)
		}
		line, err := encodeLine(r)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		again, err := decodeRequest(line)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", line, err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Errorf("round trip changed the request (-first +second):\n%s", diff)
		}
	})
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		limit   int
		want    string
		wantErr error
	}{
		{"line", "abc\nrest", 10, "abc\n", nil},
		{"eof without newline", "abc", 10, "abc", nil},
		{"exactly the limit", "abcd\n", 5, "abcd\n", nil},
		{"one over the limit", "abcde\n", 5, "", errTooLarge},
		{"no newline over the limit", "abcdefgh", 5, "", errTooLarge},
		{"empty", "", 5, "", nil}, // io.EOF, checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readLine(strings.NewReader(tt.in), tt.limit)
			if tt.in == "" {
				if err == nil {
					t.Errorf("readLine(empty) = %q, nil; want an error", got)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || string(got) != tt.want {
				t.Errorf("readLine(%q, %d) = %q, %v; want %q, %v", tt.in, tt.limit, got, err, tt.want, tt.wantErr)
			}
		})
	}
	// A line longer than the bufio buffer (4 KiB) but within the limit.
	long := strings.Repeat("x", 10000) + "\n"
	if got, err := readLine(strings.NewReader(long), wire.MaxRequestSize); err != nil || string(got) != long {
		t.Errorf("readLine(10001-byte line) = %d bytes, %v; want it whole", len(got), err)
	}
}

func TestResultAndFailure(t *testing.T) {
	tests := []struct {
		name string
		got  wire.Response
		want wire.Response
	}{
		{"nil result", wire.Result(nil), wire.Response{OK: true}},
		{"struct result", wire.Result(wire.PingInfo{PID: 7}), wire.Response{OK: true, Data: []byte(`{"pid":7,"proto":0,"version":""}`)}},
		{"unencodable", wire.Result(make(chan int)), wire.Response{Error: "encode response data: json: unsupported type: chan int", Code: wire.CodeFailure}},
		{"failure code 0", wire.Failure(wire.CodeOK, errors.New("x")), wire.Response{Error: "x", Code: wire.CodeFailure}},
		{"failure sign-in", wire.Failure(wire.CodeNeedsSignIn, errors.New("sign in")), wire.Response{Error: "sign in", Code: wire.CodeNeedsSignIn}},
		{"failure nil err", wire.Failure(wire.CodeUsage, nil), wire.Response{Error: "unknown error", Code: wire.CodeUsage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if err := (wire.Response{OK: true}).Err(); err != nil {
		t.Errorf("Err() of OK = %v", err)
	}
	var re *wire.ResponseError
	if err := (wire.Response{Error: "nope"}).Err(); !errors.As(err, &re) || re.Code != wire.CodeFailure || err.Error() != "nope" {
		t.Errorf("Err() of a failure = %v; want *ResponseError code 1", err)
	}
}

func TestDefaultPath(t *testing.T) {
	cache := func(d string, err error) func() (string, error) {
		return func() (string, error) { return d, err }
	}
	long := "/" + strings.Repeat("l", 110)
	tests := []struct {
		name       string
		runtimeDir string
		cacheDir   func() (string, error)
		tempDir    string
		uid        int
		want       string
		wantErr    bool
	}{
		{"runtime dir", "/run/user/1000", cache("/home/u/.cache", nil), "/tmp", 1000,
			filepath.Join("/run/user/1000", "tokentray", "control.sock"), false},
		{"relative runtime dir ignored", "run", cache("/home/u/.cache", nil), "/tmp", 1000,
			filepath.Join("/home/u/.cache", "tokentray", "control.sock"), false},
		{"cache dir", "", cache("/home/u/.cache", nil), "/tmp", 1000,
			filepath.Join("/home/u/.cache", "tokentray", "control.sock"), false},
		{"no cache dir", "", cache("", errors.New("no home")), "/tmp", 1000,
			filepath.Join("/tmp", "tokentray-1000", "control.sock"), false},
		{"runtime dir too long", long, cache("/home/u/.cache", nil), "/tmp", 501,
			filepath.Join("/tmp", "tokentray-501", "control.sock"), false},
		{"cache dir too long", "", cache(long, nil), "/tmp", 501,
			filepath.Join("/tmp", "tokentray-501", "control.sock"), false},
		{"no uid (windows)", "", cache(long, nil), "/tmp", -1,
			filepath.Join("/tmp", "tokentray", "control.sock"), false},
		{"everything too long", "", cache(long, nil), long, 501, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultPath(tt.runtimeDir, tt.cacheDir, tt.tempDir, tt.uid)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("defaultPath(%q, ..., %q, %d) = %q, %v; want %q (error: %v)", tt.runtimeDir, tt.tempDir, tt.uid, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDefaultPathFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	got, err := DefaultPath()
	want := filepath.Join(dir, "tokentray", "control.sock")
	if len(want) >= maxSocketPath() {
		t.Skipf("temp dir %q too long for this check", dir)
	}
	if err != nil || got != want {
		t.Errorf("DefaultPath() = %q, %v; want %q", got, err, want)
	}
}

func TestClientDerivesTimeoutFromDeadline(t *testing.T) {
	// Validation happens before dialing, so an over-long deadline must be
	// capped rather than refused.
	c := &Client{path: filepath.Join(t.TempDir(), "none.sock")}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	_, err := c.Do(ctx, wire.Request{Op: wire.OpStatus})
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Do with a 1h deadline = %v; want ErrNotRunning (timeout capped at %v, not refused)", err, wire.MaxTimeout)
	}
}
