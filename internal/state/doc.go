// Package state holds the values every client of the keeper sees: the
// snapshot of the accounts and their status, refresh results, error info,
// the expiry radar, the episode rule and scope normalisation. It imports
// only the standard library, so the window and the CLI's clients never link
// the vault, OAuth or keychain code.
package state
