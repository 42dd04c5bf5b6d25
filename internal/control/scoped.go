package control

import (
	"fmt"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// MaxClaims bounds Request.Claims (base64 characters); the keeper decodes
// and checks the JSON.
const MaxClaims = 12 << 10

// validateToken checks the per-resource fields: only op token takes them,
// scopes as state.NormalizeScopes allows, claims bounded.
func validateToken(r wire.Request) error {
	if r.Op != wire.OpToken && (len(r.Scopes) > 0 || r.Claims != "") {
		return fmt.Errorf("scopes and claims are for op %s only, not %s", wire.OpToken, r.Op)
	}
	if len(r.Scopes) > 0 {
		if _, err := state.NormalizeScopes(r.Scopes); err != nil {
			return err
		}
	}
	if len(r.Claims) > MaxClaims {
		return fmt.Errorf("claims of %d characters is too long; limit %d", len(r.Claims), MaxClaims)
	}
	return nil
}
