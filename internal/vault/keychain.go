// The Keychain API: options, construction, Load, Save, Delete, List and
// Probe, each a locked section over chunked blobs (keychain_chunks.go) and
// the account index (keychain_index.go).

package vault

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"
)

// Keychain defaults.
const (
	DefaultService = "tokentray"
	DefaultTimeout = 5 * time.Second
)

// KeychainOptions configure NewKeychain. Zero values select the defaults.
type KeychainOptions struct {
	// Service names the keychain items ("tokentray").
	Service string
	// Timeout bounds every single keychain call (5 s).
	Timeout time.Duration
	// ChunkSize is the largest item value in bytes; bigger envelopes are
	// split into chunk items (DefaultChunkSize(runtime.GOOS)).
	ChunkSize int
	// LockDir holds the lock file that serialises writers across
	// processes (os.UserCacheDir()/tokentray).
	LockDir string

	// backend replaces go-keyring in tests.
	backend backend
	// locked replaces the check background operations make before
	// touching the keychain (secretServiceLocked for go-keyring, none for
	// a test backend).
	locked func(ctx context.Context) (bool, error)
}

// Keychain stores envelopes in the OS keychain, one head item per account
// plus chunk items when an envelope exceeds the chunk size, and an index
// item listing the accounts. Every keychain call is bounded by the timeout.
// Writes are serialised across processes by a lock file and are
// replace-safe: after a crash at any point the old or the new envelope is
// readable, never a mix. A Keychain is safe for concurrent use.
//
// A write that timed out may still land later (the OS call cannot be
// cancelled). Until every such write of this process has returned, the
// process keeps the cross-process lock; when one lands, the items it may
// have overwritten are rewritten with what this process saved since, and
// chunks it left are removed. Chunk generations are random, so a late
// chunk write cannot land in a newer generation. See Wait.
//
// Operations whose context is not marked with Interactive are background
// work: they first check, without prompting, that the keychain is not
// locked, and fail with ErrLocked if it is.
//
// Items, all under the service name, by user name:
//
//	ACCOUNT          the encoded envelope (inline), or a head
//	                 {"v":1,"chunks":N,"gen":G,"len":L,"sha256":H}
//	ACCOUNT#G.I      chunk I of generation G (I = 0..N-1)
//	ACCOUNT#journal  {"v":1,"gens":[{"gen":G,"chunks":N}...]}: chunk
//	                 generations that may exist and that no head points at
//	tokentray:index  {"v":1,"accounts":[...]}, stored the same way
//	tokentray:probe  written and deleted by Probe
type Keychain struct {
	service  string
	timeout  time.Duration
	chunk    atomic.Int64 // current chunk size; lowered when the OS refuses an item
	lockDir  string
	lockErr  error
	be       backend
	locked   func(ctx context.Context) (bool, error)
	inflight chan struct{}
	// sem admits one locked section (Save, Delete, a locked read, a
	// repair) of this Keychain at a time.
	sem chan struct{}

	mu sync.Mutex // guards the fields below
	// fl is the cross-process lock while refs > 0.
	fl *flock.Flock
	// refs counts locked sections and unsettled blobs; each keeps fl.
	refs int
	// unsettled holds, by blob (account or index), what this process knows
	// while writes to its items that timed out may still land.
	unsettled map[string]*unsettled
	// settled is closed when unsettled becomes empty.
	settled chan struct{}
}

// NewKeychain returns a Keychain; it does not touch the keychain (use Probe).
func NewKeychain(opts KeychainOptions) *Keychain {
	k := &Keychain{
		service:   opts.Service,
		timeout:   opts.Timeout,
		lockDir:   opts.LockDir,
		be:        opts.backend,
		locked:    opts.locked,
		inflight:  make(chan struct{}, maxInflight),
		sem:       make(chan struct{}, 1),
		unsettled: map[string]*unsettled{},
	}
	if k.service == "" {
		k.service = DefaultService
	}
	if k.timeout <= 0 {
		k.timeout = DefaultTimeout
	}
	size := opts.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize(runtime.GOOS)
	}
	k.chunk.Store(int64(max(size, minChunkSize)))
	if k.lockDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			k.lockErr = fmt.Errorf("find the lock directory: %w", err)
		} else {
			k.lockDir = filepath.Join(dir, "tokentray")
		}
	}
	if k.be == nil {
		k.be = goKeyring{}
		if err := sessionBusMissing(); err != nil {
			k.be = noSessionBus{err}
		}
		if k.locked == nil {
			k.locked = secretServiceLocked
		}
	}
	return k
}

// Kind returns "keychain".
func (k *Keychain) Kind() string { return KindKeychain }

// Load returns the envelope of account. Errors wrap ErrNotFound,
// ErrCorrupt, ErrLocked, ErrTimeout or ErrUnavailable and name the account.
func (k *Keychain) Load(ctx context.Context, account string) (Envelope, error) {
	if err := checkAccount(account); err != nil {
		return Envelope{}, fmt.Errorf("load account from keychain: %w", err)
	}
	if err := k.checkUnlocked(ctx); err != nil {
		return Envelope{}, fmt.Errorf("load account %q from keychain: %w", account, err)
	}
	data, err := k.readBlob(ctx, account, false)
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q from keychain: %w", account, err)
	}
	e, err := Decode(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q from keychain: %w", account, err)
	}
	return e, nil
}

// Save stores e for account, replacing what was there, and records the
// account in the index. A crash during Save leaves the old or the new
// envelope readable.
func (k *Keychain) Save(ctx context.Context, account string, e Envelope) error {
	if err := checkAccount(account); err != nil {
		return fmt.Errorf("save account to keychain: %w", err)
	}
	if err := k.checkUnlocked(ctx); err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	data, err := Encode(e)
	if err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	unlock, err := k.lock(ctx, false)
	if err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	defer unlock()
	// The index is written first so that it always lists at least every
	// stored account.
	if err := k.indexAdd(ctx, account); err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	if err := k.writeBlob(ctx, account, data); err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	return nil
}

// Delete removes account, every chunk of it and its index entry. Deleting
// an absent account is not an error.
func (k *Keychain) Delete(ctx context.Context, account string) error {
	if err := checkAccount(account); err != nil {
		return fmt.Errorf("delete account from keychain: %w", err)
	}
	if err := k.checkUnlocked(ctx); err != nil {
		return fmt.Errorf("delete account %q from keychain: %w", account, err)
	}
	unlock, err := k.lock(ctx, false)
	if err != nil {
		return fmt.Errorf("delete account %q from keychain: %w", account, err)
	}
	defer unlock()
	if err := k.deleteBlob(ctx, account); err != nil {
		return fmt.Errorf("delete account %q from keychain: %w", account, err)
	}
	if err := k.indexRemove(ctx, account); err != nil {
		return fmt.Errorf("delete account %q from keychain: %w", account, err)
	}
	return nil
}

// List returns the accounts in the index, sorted, without reading secrets.
func (k *Keychain) List(ctx context.Context) ([]string, error) {
	if err := k.checkUnlocked(ctx); err != nil {
		return nil, fmt.Errorf("list keychain accounts: %w", err)
	}
	names, err := k.readIndex(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list keychain accounts: %w", err)
	}
	return names, nil
}

// Probe writes, reads back and deletes a probe item and reports whether
// the keychain is usable.
func (k *Keychain) Probe(ctx context.Context) ProbeResult {
	return probeResult(KindKeychain, k.probe(ctx))
}

func (k *Keychain) probe(ctx context.Context) error {
	if err := k.checkUnlocked(ctx); err != nil {
		return fmt.Errorf("probe keychain: %w", err)
	}
	want := rand.Text()
	if err := k.set(ctx, probeItem, want); err != nil {
		return fmt.Errorf("probe keychain: write: %w", err)
	}
	got, err := k.get(ctx, probeItem)
	if err != nil {
		return fmt.Errorf("probe keychain: read back: %w", err)
	}
	if err := k.del(ctx, probeItem); err != nil {
		return fmt.Errorf("probe keychain: delete: %w", err)
	}
	if got != want {
		return newClassError(ErrUnavailable, nil, "probe keychain: read back different data than written")
	}
	return nil
}
