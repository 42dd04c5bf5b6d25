// The rules an account must meet: its name, provider, tenant or issuer,
// client ID, scopes, redirect URI and headers; and whether a host is this
// machine (IsLoopback, which git mappings use too).

package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/tokentray/tokentray/internal/wire"
)

// ValidName reports whether name can name an account (the rule, shared
// with every client, is wire.CheckAccountName).
func ValidName(name string) error { return wire.CheckAccountName(name) }

// Validate checks one account's fields; field names in the problems are
// relative (name, provider, ...).
func (a Account) Validate() error {
	var ps []Problem
	if err := ValidName(a.Name); err != nil {
		ps = append(ps, Problem{Key: "name", Value: a.Name, Allowed: "1–64 of A-Z a-z 0-9 . - _", Reason: "invalid account name"})
	}
	switch a.Provider {
	case "microsoft":
		if a.Tenant != "" && !validTenant(a.Tenant) {
			ps = append(ps, Problem{Key: "tenant", Value: a.Tenant, Allowed: "common, organizations, consumers, a tenant GUID or a domain like contoso.onmicrosoft.com", Reason: "invalid tenant"})
		}
		if a.Issuer != "" {
			ps = append(ps, Problem{Key: "issuer", Value: a.Issuer, Reason: "issuer is for provider oidc; microsoft accounts take a tenant"})
		}
		if _, ok := wire.MicrosoftCloudNamed(a.Cloud); !ok {
			ps = append(ps, Problem{Key: "cloud", Value: a.Cloud, Allowed: wire.MicrosoftCloudNames(), Reason: "unknown Microsoft cloud"})
		}
		if id := strings.TrimSpace(a.ClientID); id != "" && !guidRE.MatchString(id) {
			ps = append(ps, Problem{Key: "client_id", Value: a.ClientID, Allowed: MicrosoftClientIDHelp, Reason: "not a Microsoft application (client) ID"})
		}
	case "oidc":
		if err := checkURL(a.Issuer, false); err != nil {
			ps = append(ps, Problem{Key: "issuer", Value: a.Issuer, Allowed: "an https URL (http only for loopback hosts)", Reason: err.Error()})
		}
		if a.Cloud != "" {
			ps = append(ps, Problem{Key: "cloud", Value: a.Cloud, Allowed: "microsoft accounts only", Reason: "an oidc account's server is its issuer"})
		}
	default:
		ps = append(ps, Problem{Key: "provider", Value: a.Provider, Allowed: "microsoft or oidc", Reason: "unknown provider"})
	}
	if strings.TrimSpace(a.ClientID) == "" {
		ps = append(ps, Problem{Key: "client_id", Allowed: "the application (client) ID of your app registration", Reason: "missing"})
	} else if len(a.ClientID) > 256 || strings.ContainsAny(a.ClientID, " \t\r\n") {
		ps = append(ps, Problem{Key: "client_id", Value: a.ClientID, Reason: "must be a single word of at most 256 characters"})
	}
	for _, sc := range a.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"") {
			ps = append(ps, Problem{Key: "scopes", Value: sc, Reason: "each scope is one word without spaces or quotes"})
		}
	}
	if a.RedirectURI != "" {
		if err := checkRedirect(a.RedirectURI); err != nil {
			ps = append(ps, Problem{Key: "redirect_uri", Value: a.RedirectURI, Allowed: "http://127.0.0.1[:port]/path, http://localhost[:port]/path or http://[::1][:port]/path", Reason: err.Error()})
		}
	}
	for h, v := range a.Headers {
		if h == "" || strings.ContainsAny(h, " :\r\n") || strings.ContainsAny(v, "\r\n") {
			ps = append(ps, Problem{Key: "headers", Value: h, Reason: "header names are single words; values are one line"})
		}
		if strings.EqualFold(h, "Authorization") || strings.EqualFold(h, "Cookie") {
			ps = append(ps, Problem{Key: "headers", Value: h, Reason: "credential headers never belong in the config file"})
		}
	}
	ps = append(ps, a.capabilityProblems()...)
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// MicrosoftClientIDHelp says what a Microsoft account's client_id is and
// where to find it.
const MicrosoftClientIDHelp = "a GUID like 00000000-0000-0000-0000-000000000000, found in the Microsoft Entra admin center → App registrations → your app → Overview → Application (client) ID"

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var domainRE = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

func validTenant(t string) bool {
	switch t {
	case "common", "organizations", "consumers":
		return true
	}
	return guidRE.MatchString(t) || (len(t) <= 253 && domainRE.MatchString(t))
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func checkURL(raw string, allowPath bool) error {
	if raw == "" {
		return fmt.Errorf("missing")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("must use https (plain http is allowed only for loopback hosts)")
		}
	default:
		return fmt.Errorf("scheme %q is not allowed", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("must not contain credentials")
	}
	return nil
}

func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.Scheme != "http" || !IsLoopback(u.Hostname()) {
		return fmt.Errorf("must be a plain-http loopback address")
	}
	return nil
}
