package control

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/wire"
)

func TestDecodeTokenRequestScopes(t *testing.T) {
	got, err := decodeRequest([]byte(`{"op":"token","account":"w","scopes":["api://x/.default"],"claims":"e30="}`))
	if err != nil {
		t.Fatalf("decodeRequest(token with scopes) = %v", err)
	}
	if diff := cmp.Diff(wire.Request{Op: wire.OpToken, Account: "w", Scopes: []string{"api://x/.default"}, Claims: "e30="}, got); diff != "" {
		t.Errorf("decodeRequest (-want +got):\n%s", diff)
	}
	for in, want := range map[string]string{
		`{"op":"refresh","scopes":["a"]}`:                                    "for op token only",
		`{"op":"status","claims":"e30="}`:                                    "for op token only",
		`{"op":"token","scopes":["a b"]}`:                                    `scope "a b" contains whitespace`,
		`{"op":"token","scopes":[""]}`:                                       "empty",
		`{"op":"token","claims":"` + strings.Repeat("A", MaxClaims+1) + `"}`: "too long",
	} {
		if _, err := decodeRequest([]byte(in)); err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 200 {
			t.Errorf("decodeRequest(%.60q) error = %v; want a short one containing %q", in, err, want)
		}
	}
}
