package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// baseScopes are always requested from Microsoft: a refresh token
// (offline_access) and an ID token with the user's name (openid profile).
var baseScopes = []string{"offline_access", "openid", "profile"}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// domainRE matches a verified tenant domain such as contoso.onmicrosoft.com,
// which the Microsoft identity platform accepts in place of the GUID.
var domainRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)

// ValidTenant reports whether tenant is common, organizations, consumers, a
// tenant GUID or a tenant domain (contoso.onmicrosoft.com).
func ValidTenant(tenant string) bool {
	switch tenant {
	case "common", "organizations", "consumers":
		return true
	}
	return guidRE.MatchString(tenant) || (len(tenant) <= 253 && domainRE.MatchString(tenant))
}

// MicrosoftProfile returns a public-client profile for the Microsoft identity
// platform v2.0 endpoints of tenant ("" means common) in the public cloud.
// The scopes are offline_access, openid and profile followed by the
// caller's, without duplicates. Revocation is unsupported (Endpoints.Revoke
// is empty).
func MicrosoftProfile(tenant, clientID string, scopes []string) (Profile, error) {
	return MicrosoftCloudProfile("", "", tenant, clientID, scopes)
}

// MicrosoftProfileAt is MicrosoftProfile with the endpoints under base
// instead of https://login.microsoftonline.com (for the simulator and the
// demo): base + "/{tenant}/oauth2/v2.0/{authorize,token,devicecode}". base
// must be https or a loopback http URL.
func MicrosoftProfileAt(base, tenant, clientID string, scopes []string) (Profile, error) {
	return MicrosoftCloudProfile("", base, tenant, clientID, scopes)
}

// MicrosoftCloudProfile is MicrosoftProfile in cloud (one of
// wire.MicrosoftClouds; "" is public): its endpoints are on the cloud's
// login host (https://login.microsoftonline.us for usgov), or under base
// when base is set (tests only: base replaces the host, the cloud is still
// recorded in Profile.Cloud).
func MicrosoftCloudProfile(cloud, base, tenant, clientID string, scopes []string) (Profile, error) {
	c, ok := wire.MicrosoftCloudNamed(cloud)
	if !ok {
		return Profile{}, fmt.Errorf("microsoft cloud %q: want %s", cloud, wire.MicrosoftCloudNames())
	}
	if tenant == "" {
		tenant = "common"
	}
	if !ValidTenant(tenant) {
		return Profile{}, fmt.Errorf("microsoft tenant %q: want common, organizations, consumers, a tenant GUID or a tenant domain", tenant)
	}
	if strings.TrimSpace(clientID) == "" {
		return Profile{}, errors.New("microsoft profile: client id is empty")
	}
	if base == "" {
		base = "https://" + c.LoginHost
	}
	base = strings.TrimRight(base, "/")
	e := Endpoints{
		Auth:   base + "/" + tenant + "/oauth2/v2.0/authorize",
		Token:  base + "/" + tenant + "/oauth2/v2.0/token",
		Device: base + "/" + tenant + "/oauth2/v2.0/devicecode",
		Issuer: base + "/" + tenant + "/v2.0",
	}
	if err := e.check(); err != nil {
		return Profile{}, fmt.Errorf("microsoft profile: %w", err)
	}
	return Profile{
		Provider:  ProviderMicrosoft,
		Cloud:     c.Name,
		Tenant:    tenant,
		ClientID:  clientID,
		Scopes:    mergeScopes(baseScopes, scopes),
		Endpoints: e,
	}, nil
}

// OIDCProfile discovers issuer and returns a profile for it. The scopes are
// openid (and offline_access when the provider lists it or lists no
// scopes) followed by the caller's, without duplicates.
func OIDCProfile(ctx context.Context, hc *http.Client, issuer, clientID string, scopes []string) (Profile, error) {
	if strings.TrimSpace(clientID) == "" {
		return Profile{}, errors.New("oidc profile: client id is empty")
	}
	d, err := discover(ctx, hc, issuer)
	if err != nil {
		return Profile{}, err
	}
	return Profile{
		Provider:  ProviderOIDC,
		Issuer:    issuer,
		ClientID:  clientID,
		Scopes:    mergeScopes(d.baseScopes(), scopes),
		Endpoints: d.endpoints(),
	}, nil
}

// mergeScopes returns base followed by extra, without blanks or duplicates.
func mergeScopes(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	for _, s := range slices.Concat(base, extra) {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

type discovery struct {
	Issuer          string   `json:"issuer"`
	Authorization   string   `json:"authorization_endpoint"`
	Token           string   `json:"token_endpoint"`
	Device          string   `json:"device_authorization_endpoint"`
	Revocation      string   `json:"revocation_endpoint"`
	ScopesSupported []string `json:"scopes_supported"`
}

// baseScopes are the scopes always requested from a discovered provider:
// openid, and offline_access when the provider lists it or lists no scopes.
func (d discovery) baseScopes() []string {
	base := []string{"openid"}
	if len(d.ScopesSupported) == 0 || slices.Contains(d.ScopesSupported, "offline_access") {
		base = append(base, "offline_access")
	}
	return base
}

func (d discovery) endpoints() Endpoints {
	return Endpoints{Auth: d.Authorization, Token: d.Token, Device: d.Device, Revoke: d.Revocation, Issuer: d.Issuer}
}

// Discover reads issuer's /.well-known/openid-configuration and returns its
// endpoints. It fails unless the document's issuer equals issuer (ignoring
// one trailing slash), the authorization and token endpoints are present,
// and every endpoint is https or on a loopback host. hc nil means
// http.DefaultClient.
func Discover(ctx context.Context, hc *http.Client, issuer string) (Endpoints, error) {
	d, err := discover(ctx, hc, issuer)
	if err != nil {
		return Endpoints{}, err
	}
	return d.endpoints(), nil
}

func discover(ctx context.Context, hc *http.Client, issuer string) (discovery, error) {
	if err := checkEndpoint(issuer); err != nil {
		return discovery{}, fmt.Errorf("discover: issuer: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	u := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, networkError(ctx, err, nil))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, networkError(ctx, err, nil))
	}
	if len(body) > MaxResponseBytes {
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, &Error{Class: Transient, Status: resp.StatusCode, Err: errTooLarge})
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		e.RetryAfter, e.RetryAfterAsked = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		classify(e)
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, e)
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return discovery{}, fmt.Errorf("discover %s: malformed discovery document: %w", issuer, err)
	}
	if strings.TrimRight(d.Issuer, "/") != strings.TrimRight(issuer, "/") {
		return discovery{}, fmt.Errorf("discover %s: document names issuer %q", issuer, d.Issuer)
	}
	if d.Authorization == "" || d.Token == "" {
		return discovery{}, fmt.Errorf("discover %s: authorization_endpoint or token_endpoint missing", issuer)
	}
	if err := d.endpoints().check(); err != nil {
		return discovery{}, fmt.Errorf("discover %s: %w", issuer, err)
	}
	return d, nil
}

// check validates every non-empty endpoint (see checkEndpoint) and requires
// the token endpoint.
func (e Endpoints) check() error {
	if e.Token == "" {
		return errors.New("no token endpoint")
	}
	for _, u := range []string{e.Auth, e.Token, e.Device, e.Revoke} {
		if u == "" {
			continue
		}
		if err := checkEndpoint(u); err != nil {
			return err
		}
	}
	return nil
}

// checkEndpoint requires an absolute https URL, or http on a loopback host
// (127.0.0.0/8, ::1, localhost).
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("endpoint %q is not an absolute URL", redactURL(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("endpoint %s must use https (plain http is allowed only for loopback hosts)", redactURL(raw))
	}
	return fmt.Errorf("endpoint %s: scheme %q not allowed, want https", redactURL(raw), u.Scheme)
}

// isLoopback reports whether host is localhost, in 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops the query and fragment of a URL for error messages.
func redactURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	u.User = nil
	return u.String()
}
