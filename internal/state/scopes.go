package state

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Bounds of a per-resource token request.
const (
	MaxScopes   = 32  // scopes in one request
	MaxScopeLen = 512 // bytes of one scope
)

// ScopedStatus is one cached per-resource token in a snapshot: its scope
// set and expiry, never the token.
type ScopedStatus struct {
	Scopes []string  `json:"scopes"`
	Expiry time.Time `json:"expiry"`
}

// NormalizeScopes validates a scope set and returns it sorted without
// duplicates. Each element is one scope (RFC 6749 §3.3 scope-token: printable
// ASCII except space, " and \), at most MaxScopeLen bytes, at most
// MaxScopes of them. The error names the bad value and what is allowed.
func NormalizeScopes(in []string) ([]string, error) {
	if len(in) > MaxScopes {
		return nil, fmt.Errorf("%d scopes requested; at most %d allowed", len(in), MaxScopes)
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if err := checkScope(s); err != nil {
			return nil, err
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

func checkScope(s string) error {
	switch {
	case s == "":
		return errors.New(`scope "" is empty: give one scope per --scope`)
	case len(s) > MaxScopeLen:
		return fmt.Errorf("scope %.40q… is %d bytes; at most %d allowed", s, len(s), MaxScopeLen)
	}
	for _, c := range s {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			return fmt.Errorf("scope %.60q contains whitespace: give one scope per --scope", s)
		}
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("scope %.60q contains %q: a scope is printable ASCII without space, \" or \\ (RFC 6749 §3.3)", s, c)
		}
	}
	return nil
}

// ResourceScope returns the scope that asks for every permission the user
// consented to on resource: resource + "/.default" (a resource URI with a
// trailing slash keeps it, https://management.azure.com/ →
// https://management.azure.com//.default, as Azure CLI does). resource is an
// absolute URI (https://…, api://…) or an application ID (GUID).
func ResourceScope(resource string) (string, error) {
	u, err := url.Parse(resource)
	isURI := err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
	if !isURI && !isGUID(resource) || strings.ContainsAny(resource, " \t\r\n") {
		return "", fmt.Errorf("resource %q: want an absolute URI (https://graph.microsoft.com, api://my-api) or an application ID (GUID)", resource)
	}
	s := resource + "/.default"
	if err := checkScope(s); err != nil {
		return "", fmt.Errorf("resource %q: %w", resource, err)
	}
	return s, nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
