package vault

import "context"

// interactiveKey marks a context of an operation the user asked for.
type interactiveKey struct{}

// Interactive returns ctx marked as carrying an operation the user asked
// for (sign-in, "Refresh now", a CLI command): such a keychain call may
// raise an unlock prompt and wait for it. Every other context is
// background work, which never prompts: when the keychain is locked, the
// Keychain fails at once with an error wrapping ErrLocked instead of
// calling the OS keychain (Linux and BSD: Secret Service collection
// checked over D-Bus). File and Memory ignore the mark.
func Interactive(ctx context.Context) context.Context {
	return context.WithValue(ctx, interactiveKey{}, true)
}

// IsInteractive reports whether ctx was marked by Interactive.
func IsInteractive(ctx context.Context) bool {
	v, _ := ctx.Value(interactiveKey{}).(bool)
	return v
}
