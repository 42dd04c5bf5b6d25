package state

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeScopes(t *testing.T) {
	got, err := NormalizeScopes([]string{"b/.default", "a", "b/.default"})
	if err != nil || !slices.Equal(got, []string{"a", "b/.default"}) {
		t.Errorf("NormalizeScopes(dup) = %q, %v; want [a b/.default]", got, err)
	}
	for in, want := range map[string]string{
		"":                       "empty",
		"a b":                    "whitespace",
		"tab\there":              "whitespace",
		`quo"te`:                 "printable ASCII",
		"ünï":                    "printable ASCII",
		strings.Repeat("s", 513): "at most 512",
	} {
		if _, err := NormalizeScopes([]string{in}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeScopes(%.20q) error = %v; want one saying %q", in, err, want)
		}
	}
	many := make([]string, MaxScopes+1)
	for i := range many {
		many[i] = fmt.Sprint("s", i)
	}
	if _, err := NormalizeScopes(many); err == nil || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("NormalizeScopes(33 scopes) error = %v; want at most 32", err)
	}
}

func TestResourceScope(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.microsoft.com":          "https://graph.microsoft.com/.default",
		"https://management.azure.com/":        "https://management.azure.com//.default",
		"api://my-api":                         "api://my-api/.default",
		"00000003-0000-0000-c000-000000000000": "00000003-0000-0000-c000-000000000000/.default",
	} {
		if got, err := ResourceScope(in); err != nil || got != want {
			t.Errorf("ResourceScope(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "graph", "https://x y", "/relative"} {
		if _, err := ResourceScope(bad); err == nil || !strings.Contains(err.Error(), "absolute URI") {
			t.Errorf("ResourceScope(%q) error = %v; want one asking for an absolute URI", bad, err)
		}
	}
}
