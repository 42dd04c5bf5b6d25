package control

import (
	"context"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/engine"
)

// MaxClaims bounds Request.Claims (base64 characters); the keeper decodes
// and checks the JSON.
const MaxClaims = 12 << 10

// validateToken checks the per-resource fields: only op token takes them,
// scopes as engine.NormalizeScopes allows, claims bounded.
func validateToken(r Request) error {
	if r.Op != OpToken && (len(r.Scopes) > 0 || r.Claims != "") {
		return fmt.Errorf("scopes and claims are for op %s only, not %s", OpToken, r.Op)
	}
	if len(r.Scopes) > 0 {
		if _, err := engine.NormalizeScopes(r.Scopes); err != nil {
			return err
		}
	}
	if len(r.Claims) > MaxClaims {
		return fmt.Errorf("claims of %d characters is too long; limit %d", len(r.Claims), MaxClaims)
	}
	return nil
}

// TokenOptions are what TokenFor asks for besides the account.
type TokenOptions struct {
	MinValid time.Duration
	Scopes   []string // a per-resource scope set; empty: the account's own
	Claims   string   // a claims challenge, base64 as the resource sent it
}

// TokenFor returns an access token of account for o.Scopes (the main token
// when empty), refreshing first when needed; with o.Claims, after a forced
// refresh that carries the claims.
func (c *Client) TokenFor(ctx context.Context, account string, o TokenOptions) (Token, error) {
	var t Token
	req := Request{Op: OpToken, Account: account, MinValid: o.MinValid, Scopes: o.Scopes, Claims: o.Claims}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = MaxTimeout
	}
	return t, c.decode(ctx, req, &t)
}
