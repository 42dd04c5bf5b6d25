package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// discoveryKey names one cached discovery.
type discoveryKey struct{ issuer, clientID string }

// discovered is what a successful discovery of an issuer yields for every
// profile of that issuer: its endpoints and the scopes always requested.
type discovered struct {
	endpoints  Endpoints
	baseScopes []string
}

// resolve returns p with its endpoints filled in when p is an OIDC profile
// without a token endpoint: from the Client's cache, else by discovery
// (cached on success only). Its scopes then become those OIDCProfile would
// give. Any other profile is returned unchanged.
func (c *Client) resolve(ctx context.Context, p Profile) (Profile, error) {
	if p.Provider != ProviderOIDC || p.Endpoints.Token != "" {
		return p, nil
	}
	if strings.TrimSpace(p.ClientID) == "" {
		return p, errors.New("oidc profile: client id is empty")
	}
	key := discoveryKey{issuer: p.Issuer, clientID: p.ClientID}
	c.mu.Lock()
	d, ok := c.discovered[key]
	c.mu.Unlock()
	if !ok {
		dctx, cancel := context.WithTimeout(ctx, c.timeout())
		doc, err := discover(dctx, c.httpClient(), p.Issuer)
		cancel()
		if err != nil {
			return p, err
		}
		d = discovered{endpoints: doc.endpoints(), baseScopes: doc.baseScopes()}
		c.mu.Lock()
		if c.discovered == nil {
			c.discovered = map[discoveryKey]discovered{}
		}
		c.discovered[key] = d
		c.mu.Unlock()
	}
	p.Endpoints = d.endpoints
	p.Scopes = mergeScopes(d.baseScopes, p.Scopes)
	return p, nil
}

// resolveFor is resolve with the failure described for the operation op
// ("refresh", "browser sign-in", ...).
func (c *Client) resolveFor(ctx context.Context, op string, p Profile) (Profile, error) {
	rp, err := c.resolve(ctx, p)
	if err != nil {
		return p, fmt.Errorf("%s: %w", op, err)
	}
	return rp, nil
}
