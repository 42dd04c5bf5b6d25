package vault

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Memory keeps envelopes in process memory, encoded as they would be stored.
// It is safe for concurrent use; nothing survives the process.
type Memory struct {
	mu    sync.Mutex
	items map[string][]byte
}

// NewMemory returns an empty memory backend.
func NewMemory() *Memory { return &Memory{items: map[string][]byte{}} }

// Kind returns "memory".
func (m *Memory) Kind() string { return KindMemory }

// Load returns the envelope of account, or an error wrapping ErrNotFound.
func (m *Memory) Load(ctx context.Context, account string) (Envelope, error) {
	if err := ctx.Err(); err != nil {
		return Envelope{}, fmt.Errorf("load account %q: %w", account, err)
	}
	m.mu.Lock()
	b, ok := m.items[account]
	m.mu.Unlock()
	if !ok {
		return Envelope{}, fmt.Errorf("load account %q: %w", account, ErrNotFound)
	}
	e, err := Decode(b)
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q: %w", account, err)
	}
	return e, nil
}

// Save stores e for account, replacing what was there.
func (m *Memory) Save(ctx context.Context, account string, e Envelope) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save account %q: %w", account, err)
	}
	if err := checkAccount(account); err != nil {
		return fmt.Errorf("save account: %w", err)
	}
	b, err := Encode(e)
	if err != nil {
		return fmt.Errorf("save account %q: %w", account, err)
	}
	m.mu.Lock()
	m.items[account] = b
	m.mu.Unlock()
	return nil
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
