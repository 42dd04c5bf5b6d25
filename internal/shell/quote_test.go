package shell

import (
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquoteFish reads one fish single-quoted word: inside, \\ is \ and \' is
// ', any other backslash is literal, and an unescaped ' ends it. ok is false
// if q is not exactly one such word.
func unquoteFish(q string) (string, bool) {
	if len(q) < 2 || q[0] != '\'' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\\' && i+1 < len(q) && (q[i+1] == '\\' || q[i+1] == '\''):
			b.WriteByte(q[i+1])
			i++
		case c == '\'':
			return b.String(), i == len(q)-1
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// unquotePS reads one PowerShell verbatim string: any of ' ‘ ’ ‚ ‛ quotes,
// two in a row are one literal quote character (the first of the pair).
func unquotePS(q string) (string, bool) {
	isQ := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) }
	rs := []rune(q)
	if len(rs) < 2 || !isQ(rs[0]) {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		if isQ(rs[i]) {
			if i+1 < len(rs) && isQ(rs[i+1]) {
				b.WriteRune(rs[i])
				i++
				continue
			}
			return b.String(), i == len(rs)-1
		}
		b.WriteRune(rs[i])
	}
	return "", false
}

// unquoteSh reads one POSIX word made of single-quoted parts and \'.
func unquoteSh(q string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(q); {
		switch {
		case q[i] == '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(q[i+1 : i+1+j])
			i += j + 2
		case strings.HasPrefix(q[i:], `\'`):
			b.WriteByte('\'')
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

func FuzzEnvQuoting(f *testing.F) {
	for _, s := range []string{"", "simAT-abc", "it's", `back\slash`, `\'`, "‘curly’", "$(rm -rf ~)", "`x`", "a\nb", "''''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return // tokens are text; no shell variable holds NUL
		}
		for name, c := range map[string]struct {
			quote   func(string) string
			unquote func(string) (string, bool)
		}{"sh": {Sh, unquoteSh}, "fish": {Fish, unquoteFish}, "powershell": {PowerShell, unquotePS}} {
			q := c.quote(s)
			if got, ok := c.unquote(q); !ok || got != s {
				t.Fatalf("%s: quote(%q) = %q reads back as %q (one word: %t)", name, s, q, got, ok)
			}
		}
	})
}

// TestShQuoteWithRealShell: sh itself reads every quoted value back
// unchanged, whatever characters it holds.
func TestShQuoteWithRealShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ09-_.'\"\\$`!*?[]{}();&|<> \t\n#~%^‘’é")
	var values []string
	for range 40 {
		r := make([]rune, rnd.IntN(24))
		for i := range r {
			r[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		values = append(values, string(r))
	}
	var script strings.Builder
	set, _ := Assignment("sh")
	for _, v := range values {
		script.WriteString(set("V", v) + "\n")
		script.WriteString(`printf '%s\0' "$V"` + "\n")
	}
	out, err := exec.Command(sh, "-c", script.String()).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(values) {
		t.Fatalf("sh printed %d values; want %d", len(got), len(values))
	}
	for i := range values {
		if got[i] != values[i] {
			t.Errorf("sh read %q back as %q", values[i], got[i])
		}
	}
}

func TestAssignmentUnknown(t *testing.T) {
	if _, err := Assignment("csh"); err == nil || !strings.Contains(err.Error(), "sh, fish, powershell") {
		t.Errorf("Assignment(csh) = %v; want an error listing the shells", err)
	}
}
