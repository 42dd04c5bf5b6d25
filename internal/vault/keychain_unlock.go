// The unlock policy: background work never makes the keychain prompt; it
// checks, without prompting, that the keychain is unlocked first.

package vault

import (
	"context"
	"fmt"
)

// lockedNoPrompt is what background work gets from a locked keychain.
const lockedNoPrompt = "keychain locked: unlock it (log in again or open your keyring app), then Refresh now"

// checkUnlocked fails with ErrLocked, without calling the keychain, when
// ctx is background work (see Interactive) and the keychain is locked, so
// that no unlock prompt appears and no call waits on one.
func (k *Keychain) checkUnlocked(ctx context.Context) error {
	if k.locked == nil || IsInteractive(ctx) {
		return nil
	}
	if ctx.Err() != nil {
		return ctxError(ctx, k.timeout)
	}
	cctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	locked, err := k.locked(cctx)
	switch {
	case err != nil && cctx.Err() != nil:
		return ctxError(cctx, k.timeout)
	case err != nil:
		return fmt.Errorf("check whether the keychain is locked: %w", classify(err))
	case locked:
		return newClassError(ErrLocked, nil, lockedNoPrompt)
	}
	return nil
}
