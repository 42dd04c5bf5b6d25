package control

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokentray/tokentray/internal/wire"
)

// TestRequestClientIsBounded: the client field reaches the access log;
// a long one is refused with the field, its length and the limit.
func TestRequestClientIsBounded(t *testing.T) {
	ok := `{"proto":2,"op":"token","client":"` + strings.Repeat("v", wire.MaxClientLen) + `"}`
	if _, err := decodeRequest([]byte(ok)); err != nil {
		t.Errorf("decodeRequest(client of %d bytes) = %v; want accepted", wire.MaxClientLen, err)
	}
	long := `{"proto":2,"op":"token","client":"` + strings.Repeat("v", 20<<10) + `"}`
	_, err := decodeRequest([]byte(long))
	want := "client of 20480 bytes is too long; limit 64"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("decodeRequest(client of 20 KiB) = %v; want %q", err, want)
	}
}

// TestPeerExeIsBounded: executable paths the server reports for a peer
// (they go to the access log) are cut at MaxExeLen bytes, on a rune
// boundary, marked with an ellipsis.
func TestPeerExeIsBounded(t *testing.T) {
	short := "/usr/bin/git"
	if got := boundExe(short); got != short {
		t.Errorf("boundExe(%q) = %q; want it unchanged", short, got)
	}
	long := "/" + strings.Repeat("é", 3000)
	got := boundExe(long)
	if len(got) > MaxExeLen || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("boundExe(%d bytes) = %d bytes %.20q…; want at most %d valid bytes, a prefix, ending in …", len(long), len(got), got, MaxExeLen)
	}
}
