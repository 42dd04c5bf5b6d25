package oauth

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Revoke asks the provider to revoke refreshToken (RFC 7009). It returns
// ErrRevokeUnsupported when the profile has no revocation endpoint
// (Microsoft); the caller then just deletes the token locally. Errors are
// classified *Error values.
func (c *Client) Revoke(ctx context.Context, p Profile, refreshToken string) error {
	p, err := c.resolveFor(ctx, "revoke", p)
	if err != nil {
		return err
	}
	if p.Endpoints.Revoke == "" {
		return ErrRevokeUnsupported
	}
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	status, h, body, _, err := c.post(ctx, p, p.Endpoints.Revoke, form, []string{refreshToken})
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if status/100 == 2 {
		return nil
	}
	_, e := parseTokenResponse(status, h, body, time.Now())
	e.Description = sanitize(e.Description, refreshToken)
	return fmt.Errorf("revoke: %w", e)
}
