package vault

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Memory keeps envelopes in process memory. It stores copies, not encoded
// bytes (the engine's mandatory re-read and save must not pay a JSON round
// trip), but accepts exactly what Encode accepts and hands back what Decode
// of the stored form would: Version is CurrentVersion, times carry no
// monotonic reading, and no slice is shared with the caller.
// It is safe for concurrent use; nothing survives the process.
type Memory struct {
	mu    sync.Mutex
	items map[string]Envelope
}

// NewMemory returns an empty memory backend.
func NewMemory() *Memory { return &Memory{items: map[string]Envelope{}} }

// Kind returns "memory".
func (m *Memory) Kind() string { return KindMemory }

// Load returns the envelope of account, or an error wrapping ErrNotFound.
func (m *Memory) Load(ctx context.Context, account string) (Envelope, error) {
	if err := ctx.Err(); err != nil {
		return Envelope{}, fmt.Errorf("load account %q: %w", account, err)
	}
	m.mu.Lock()
	e, ok := m.items[account]
	m.mu.Unlock()
	if !ok {
		return Envelope{}, fmt.Errorf("load account %q: %w", account, ErrNotFound)
	}
	e.Scopes = cloneScopes(e.Scopes)
	return e, nil
}

// Save stores a copy of e for account, replacing what was there. It refuses
// what Encode refuses (a time outside years 0–9999).
func (m *Memory) Save(ctx context.Context, account string, e Envelope) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save account %q: %w", account, err)
	}
	if err := checkAccount(account); err != nil {
		return fmt.Errorf("save account: %w", err)
	}
	if !encodable(e.Expiry) || !encodable(e.ObtainedAt) {
		return fmt.Errorf("save account %q: encode envelope: a time field is out of range", account)
	}
	e.Version = CurrentVersion
	e.Expiry = e.Expiry.Round(0)
	e.ObtainedAt = e.ObtainedAt.Round(0)
	e.Scopes = cloneScopes(e.Scopes)
	m.mu.Lock()
	m.items[account] = e
	m.mu.Unlock()
	return nil
}

// cloneScopes copies s; an empty list is nil, as after a decode.
func cloneScopes(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// encodable reports whether t survives time.Time's JSON encoding: a year in
// 0–9999 and a zone offset under 24 h (the zero time is left out by Encode).
func encodable(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off > -24*3600 && off < 24*3600
}

// Delete removes account; deleting an absent account is not an error.
func (m *Memory) Delete(ctx context.Context, account string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete account %q: %w", account, err)
	}
	m.mu.Lock()
	delete(m.items, account)
	m.mu.Unlock()
	return nil
}

// List returns the stored account names, sorted.
func (m *Memory) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	m.mu.Lock()
	names := make([]string, 0, len(m.items))
	for name := range m.items {
		names = append(names, name)
	}
	m.mu.Unlock()
	sort.Strings(names)
	return names, nil
}

// Probe always succeeds unless ctx is done.
func (m *Memory) Probe(ctx context.Context) ProbeResult {
	return probeResult(KindMemory, ctx.Err())
}
