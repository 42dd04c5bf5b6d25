package wire

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLeafImportsOnlyTheStandardLibrary: the front links wire; it must stay
// a leaf.
func TestLeafImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/tokentray/tokentray/internal/wire" {
			t.Errorf("internal/wire depends on %s; want the standard library only", p)
		}
	}
}

func TestCheckMinValid(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""}, {DefaultMinValid, ""}, {time.Hour, ""},
		{-time.Second, "--min-valid -1s: want a duration from 0s to 1h"},
		{time.Hour + time.Second, "--min-valid 1h0m1s: want a duration from 0s to 1h"},
	} {
		err := CheckMinValid(tt.d)
		if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
			t.Errorf("CheckMinValid(%s) = %v; want %q", tt.d, err, tt.want)
		}
	}
}

func TestAccountName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"work", true}, {"a", true}, {"9.x-y_z", true}, {strings.Repeat("a", 64), true},
		{"", false}, {".work", false}, {"-w", false}, {"bad name", false}, {"wörk", false}, {strings.Repeat("a", 65), false},
	} {
		if got := ValidAccountName(tt.name); got != tt.ok {
			t.Errorf("ValidAccountName(%q) = %v; want %v", tt.name, got, tt.ok)
		}
		err := CheckAccountName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "use 1–64 letters, digits, '.', '-' or '_', starting with a letter or digit")) {
			t.Errorf("CheckAccountName(%q) = %v", tt.name, err)
		}
	}
}

func TestShorterThanAsked(t *testing.T) {
	got := ShorterThanAsked(3*time.Minute+400*time.Millisecond, 5*time.Minute)
	want := "tokentray: the provider's access tokens last 3m0s, less than --min-valid 5m0s; this one is fresh (refreshed at most once per half lifetime)"
	if got != want {
		t.Errorf("ShorterThanAsked = %q; want %q", got, want)
	}
}

// TestMismatchRefusalIsRecognised: the server's refusal of another version
// reaches the client as an error wrapping ErrVersionMismatch, naming both.
func TestMismatchRefusalIsRecognised(t *testing.T) {
	resp := Failure(CodeUsage, ServerMismatch(3, "v9.0", "v1.0"))
	err := resp.Err()
	var re *ResponseError
	if !errors.Is(err, ErrVersionMismatch) || !errors.As(err, &re) || re.Code != CodeUsage ||
		!strings.Contains(err.Error(), "this client is tokentray v9.0 (control protocol 3), the running keeper is tokentray v1.0 (control protocol 2)") {
		t.Errorf("Err() of a mismatch refusal = %v; want ErrVersionMismatch naming both versions", err)
	}
	if err := Failure(CodeUsage, errors.New("unknown op")).Err(); errors.Is(err, ErrVersionMismatch) {
		t.Errorf("Err() of another usage refusal = %v; want no ErrVersionMismatch", err)
	}
}
