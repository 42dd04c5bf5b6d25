package hooks

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// leakWindow is the longest piece of a secret a log record may hold: one
// shorter than this could be anything (and Redact leaves strings shorter
// than 16 bytes alone anyway).
const leakWindow = 12

// randomSecret returns n bytes of base64url, like a token.
func randomSecret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// leaked returns the first piece of secret, leakWindow bytes long, found in
// text, or "".
func leaked(text, secret string) string {
	for i := 0; i+leakWindow <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+leakWindow]) {
			return secret[i : i+leakWindow]
		}
	}
	return ""
}

// TestRunnerRedactsAcrossReadBoundary: a token in a line longer than one
// read of hook output (64 KiB) is redacted wherever it falls, also across
// the boundary between two reads, and when the output limit cuts the line
// right after the token's first bytes, none of them is logged.
func TestRunnerRedactsAcrossReadBoundary(t *testing.T) {
	requireSh(t)
	secret := randomSecret(t, 345)
	other := randomSecret(t, 2000) // a second, longer secret the runner holds
	cases := []struct {
		name  string
		at    int // where the secret starts in the line
		limit int // the output limit; 0: four reads
		line  int // the line's length without the newline
		cut   bool
		noNL  bool // the output ends without a newline
	}{
		{name: "straddles by one byte", at: maxLine - len(secret) + 1, line: maxLine + 1000},
		{name: "straddles in the middle", at: maxLine - 172, line: maxLine + 1000},
		{name: "starts on the last byte", at: maxLine - 1, line: maxLine + 1000},
		{name: "ends on the boundary", at: maxLine - len(secret), line: maxLine + 1000},
		{name: "straddles the second boundary", at: 2*maxLine - 100, line: 2*maxLine + 1000},
		{name: "ends the output on a boundary, no newline", at: 2*maxLine - len(secret) - 5, line: 2 * maxLine, noNL: true},
		{name: "cut by the output limit", at: maxLine - 100, line: maxLine + 1000, limit: maxLine + 10, cut: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line := []byte(strings.Repeat("a", tc.line))
			copy(line[tc.at:], secret)
			out := filepath.Join(t.TempDir(), "out")
			written := append(line, '\n')
			if tc.noNL {
				written = line
			}
			if err := os.WriteFile(out, written, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.limit == 0 {
				tc.limit = 4 * maxLine
			}
			rec, _, r := startRunner(t, Options{
				Commands:    map[Event][]string{Refreshed: {"cat", out}},
				OutputLimit: tc.limit,
				Redact:      secrets{secret, other},
			})
			r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
			rec.wait(t, 1, msgIs("hook ran"))
			var logged strings.Builder
			for _, l := range rec.records() {
				if l.msg != "hook output" {
					continue
				}
				if p := leaked(l.attrs["line"], secret); p != "" {
					t.Errorf("a log record holds %q of the secret", p)
				}
				logged.WriteString(l.attrs["line"])
			}
			if tc.cut {
				tr := rec.wait(t, 1, msgIs("hook output truncated"))
				if got, want := tr[0].attrs["dropped_bytes"], strconv.Itoa(len(written)-logged.Len()); got != want {
					t.Errorf("dropped_bytes = %s; want %s (what was written and not logged)", got, want)
				}
				return
			}
			want := strings.Replace(string(line), secret, "[redacted token]", 1)
			if logged.String() != want {
				t.Errorf("the logged pieces of the line (%d bytes) are not the line with its secret redacted (%d bytes)", logged.Len(), len(want))
			}
		})
	}
}

// secrets is a Redactor holding these secrets.
type secrets []string

func (ss secrets) Redact(s string) string {
	for _, secret := range ss {
		s = strings.ReplaceAll(s, secret, "[redacted token]")
	}
	return s
}

func (ss secrets) LongestSecret() int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s))
	}
	return n
}
