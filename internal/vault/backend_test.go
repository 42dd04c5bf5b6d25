package vault

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// store is what the engine uses; every backend must satisfy it.
type store interface {
	Load(ctx context.Context, account string) (Envelope, error)
	Save(ctx context.Context, account string, e Envelope) error
	Delete(ctx context.Context, account string) error
	List(ctx context.Context) ([]string, error)
	Probe(ctx context.Context) ProbeResult
	Kind() string
}

var (
	_ store = (*Keychain)(nil)
	_ store = (*File)(nil)
	_ store = (*Memory)(nil)
)

// backends returns one fresh instance of every backend, the keychain over
// a working fake with Windows-sized chunks.
func backends(t *testing.T) map[string]store {
	t.Helper()
	return map[string]store{
		"memory": NewMemory(),
		"file":   NewFile(filepath.Join(t.TempDir(), "cfg", "tokens.json")),
		"keychain": NewKeychain(KeychainOptions{
			ChunkSize: DefaultChunkSize("windows"),
			LockDir:   t.TempDir(),
			backend:   newStoreKeychain(),
		}),
	}
}

func TestBackendContract(t *testing.T) {
	big := fullEnvelope()
	big.AccessToken = bigToken(16 << 10)
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if got := s.Kind(); got != name {
				t.Errorf("Kind() = %q; want %q", got, name)
			}
			if r := s.Probe(ctx); r.Status != ProbeOK || r.Err != nil || r.Kind != name {
				t.Errorf("Probe() = %+v; want ok", r)
			}
			if _, err := s.Load(ctx, "work"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load(absent) = %v; want ErrNotFound", err)
			}
			if names, err := s.List(ctx); err != nil || len(names) != 0 {
				t.Errorf("List() on empty = %q, %v; want none", names, err)
			}
			for _, step := range []struct {
				account string
				e       Envelope
			}{
				{"work", fullEnvelope()},
				{"home", Envelope{RefreshToken: "home-rt"}},
				{"work", big},
				{"work", Envelope{RefreshToken: "small-again"}},
				{"big", big},
			} {
				if err := s.Save(ctx, step.account, step.e); err != nil {
					t.Fatalf("Save(%q) = %v", step.account, err)
				}
				got, err := s.Load(ctx, step.account)
				if err != nil {
					t.Fatalf("Load(%q) = %v", step.account, err)
				}
				want := step.e
				want.Version = CurrentVersion
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Load(%q) mismatch (-want +got):\n%s", step.account, diff)
				}
			}
			names, err := s.List(ctx)
			if err != nil {
				t.Fatalf("List() = %v", err)
			}
			if diff := cmp.Diff([]string{"big", "home", "work"}, names); diff != "" {
				t.Errorf("List() mismatch (-want +got):\n%s", diff)
			}
			for _, account := range []string{"work", "work", "never-existed"} {
				if err := s.Delete(ctx, account); err != nil {
					t.Errorf("Delete(%q) = %v; want nil", account, err)
				}
			}
			if _, err := s.Load(ctx, "work"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load(deleted) = %v; want ErrNotFound", err)
			}
			names, _ = s.List(ctx)
			if diff := cmp.Diff([]string{"big", "home"}, names); diff != "" {
				t.Errorf("List() after Delete mismatch (-want +got):\n%s", diff)
			}
			for _, bad := range []string{"", "a#b", "tokentray:index"} {
				if err := s.Save(ctx, bad, fullEnvelope()); err == nil {
					t.Errorf("Save(%q) = nil; want an error", bad)
				}
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Load(canceled, "home"); !errors.Is(err, context.Canceled) {
				t.Errorf("Load(canceled ctx) = %v; want context.Canceled", err)
			}
		})
	}
}

// bigToken returns an access-token-like string of n bytes.
func bigToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%len(alphabet)]
	}
	return string(b)
}
