// Package vault owns tokentray's secret storage: the versioned token
// envelope codec and the backends that keep envelopes per account (the OS
// keychain with timeouts and chunking, an opt-in 0600 file, and memory).
package vault
