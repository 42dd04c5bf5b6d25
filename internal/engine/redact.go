package engine

import "strings"

// minRedact is the shortest secret Redact replaces: shorter strings are
// not tokens, and replacing them would garble ordinary text.
const minRedact = 16

// Redacted stands in for a secret Redact removed.
const Redacted = "[redacted token]"

// Redact returns s with every secret this engine holds in memory — each
// account's refresh token, access token and client secret, and the
// per-resource access tokens — replaced by Redacted. It is for text the
// engine does not control that may end up in a log, such as what a user's
// hook prints (a hook may run `tokentray token`); tokentray's own messages
// never carry a secret in the first place.
func (e *Engine) Redact(s string) string {
	if len(s) < minRedact {
		return s
	}
	for secret := range e.secrets() {
		s = redactOne(s, secret)
	}
	return s
}

// secrets yields every secret the engine holds in memory, under e.mu.
func (e *Engine) secrets() func(yield func(string) bool) {
	return func(yield func(string) bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, a := range e.accts {
			for _, secret := range []string{a.env.RefreshToken, a.env.AccessToken, a.env.ClientSecret} {
				if !yield(secret) {
					return
				}
			}
			for _, se := range a.scoped {
				if !yield(se.token) {
					return
				}
			}
		}
	}
}

func redactOne(s, secret string) string {
	if len(secret) < minRedact || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}

// LongestSecret returns the length of the longest secret Redact replaces
// (0: none). A caller redacting a stream piece by piece holds back that many
// bytes less one, so a secret split between pieces is still seen whole.
func (e *Engine) LongestSecret() int {
	n := 0
	for secret := range e.secrets() {
		n = longer(n, secret)
	}
	return n
}

func longer(n int, secret string) int {
	if len(secret) < minRedact {
		return n
	}
	return max(n, len(secret))
}
