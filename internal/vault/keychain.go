package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofrs/flock"
	"github.com/zalando/go-keyring"
)

// Keychain defaults.
const (
	DefaultService = "tokentray"
	DefaultTimeout = 5 * time.Second
)

const (
	// minChunkSize is the smallest item size Keychain falls back to when the
	// OS refuses an item as too big.
	minChunkSize = 256
	// maxChunks bounds the chunk count a head may claim.
	maxChunks = 4096
	// maxInflight bounds keychain calls in flight, including calls that
	// timed out and are still waiting for the OS to return.
	maxInflight = 4
	// readAttempts is how often Load re-reads when a concurrent writer
	// replaced the item under it.
	readAttempts = 4
)

// DefaultChunkSize returns the largest item value, in bytes, that the
// keychain of goos stores reliably: Windows Credential Manager takes 2560
// bytes; macOS `security -i` takes a 4096-byte command holding the base64 of
// the value; the Secret Service has no hard limit.
func DefaultChunkSize(goos string) int {
	switch goos {
	case "windows":
		return 2560
	case "darwin":
		return 2048
	default:
		return 1 << 20
	}
}

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
}

// backend is the keychain primitive Keychain builds on: one secret string
// per (service, user). Errors are go-keyring's.
type backend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring is the OS keychain through github.com/zalando/go-keyring.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (goKeyring) Delete(service, user string) error { return keyring.Delete(service, user) }

// noSessionBus answers every call with the reason there is no keychain to
// reach, instead of letting the D-Bus library autolaunch a stray daemon.
type noSessionBus struct{ err error }

func (n noSessionBus) Get(string, string) (string, error) { return "", n.err }
func (n noSessionBus) Set(string, string, string) error   { return n.err }
func (n noSessionBus) Delete(string, string) error        { return n.err }

// Keychain stores envelopes in the OS keychain, one head item per account
// plus chunk items when an envelope exceeds the chunk size, and an index
// item listing the accounts. Every keychain call is bounded by the timeout.
// Writes are serialised across processes by a lock file and are
// replace-safe: after a crash at any point the old or the new envelope is
// readable, never a mix. A Keychain is safe for concurrent use.
//
// Items, all under the service name, by user name:
//
//	ACCOUNT          the encoded envelope (inline), or a head
//	                 {"v":1,"chunks":N,"gen":G,"len":L,"sha256":H}
//	ACCOUNT#G.I      chunk I of generation G (I = 0..N-1)
//	tokentray:index  {"v":1,"accounts":[...]}, stored the same way
//	tokentray:probe  written and deleted by Probe
type Keychain struct {
	service  string
	timeout  time.Duration
	chunk    atomic.Int64 // current chunk size; lowered when the OS refuses an item
	lockDir  string
	lockErr  error
	be       backend
	inflight chan struct{}
}

// NewKeychain returns a Keychain; it does not touch the keychain (use Probe).
func NewKeychain(opts KeychainOptions) *Keychain {
	k := &Keychain{
		service:  opts.Service,
		timeout:  opts.Timeout,
		lockDir:  opts.LockDir,
		be:       opts.backend,
		inflight: make(chan struct{}, maxInflight),
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
	}
	return k
}

// Kind returns "keychain".
func (k *Keychain) Kind() string { return KindKeychain }

// call runs fn on the backend, giving up after the timeout or when ctx is
// done. A backend call cannot be cancelled: its goroutine, owned by k, ends
// when the OS answers; at most maxInflight such goroutines exist.
func (k *Keychain) call(ctx context.Context, fn func(b backend) error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, k.timeout)
	}
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case k.inflight <- struct{}{}:
	case <-timer.C:
		return timeoutError(k.timeout, errors.New("earlier keychain calls have not returned"))
	case <-ctx.Done():
		return ctxError(ctx, k.timeout)
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-k.inflight }()
		defer func() {
			if r := recover(); r != nil {
				done <- errors.New("keychain library panicked")
			}
		}()
		done <- fn(k.be)
	}()
	select {
	case err := <-done:
		return classify(err)
	case <-timer.C:
		return timeoutError(k.timeout, nil)
	case <-ctx.Done():
		return ctxError(ctx, k.timeout)
	}
}

func ctxError(ctx context.Context, d time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError(d, ctx.Err())
	}
	return fmt.Errorf("keychain call abandoned: %w", ctx.Err())
}

func (k *Keychain) get(ctx context.Context, user string) (string, error) {
	var v string
	err := k.call(ctx, func(b backend) error {
		var err error
		v, err = b.Get(k.service, user)
		return err
	})
	return v, err
}

func (k *Keychain) set(ctx context.Context, user, value string) error {
	return k.call(ctx, func(b backend) error { return b.Set(k.service, user, value) })
}

// del deletes an item; an absent item is not an error.
func (k *Keychain) del(ctx context.Context, user string) error {
	err := k.call(ctx, func(b backend) error { return b.Delete(k.service, user) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// head is the item stored under an account when its data is chunked.
// An item without "chunks" is the data itself (stored inline). A head with
// Deleted set is a tombstone: the data is gone, its chunks may remain.
type head struct {
	V       int    `json:"v"`
	Chunks  int    `json:"chunks"`
	Gen     uint64 `json:"gen"`
	Len     int    `json:"len"`
	SHA256  string `json:"sha256,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

// blobState is what a writer needs to know about the stored generation.
type blobState struct {
	gen    uint64
	chunks int
}

func chunkName(user string, gen uint64, i int) string {
	return user + "#" + strconv.FormatUint(gen, 10) + "." + strconv.Itoa(i)
}

// parseHead reads a head item. inline reports that raw is the data itself.
func parseHead(raw string) (h head, inline bool, err error) {
	var probe struct {
		Chunks *json.RawMessage `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return head{}, false, newClassError(ErrCorrupt, nil, "item is not a JSON object (%s)", jsonProblem(err))
	}
	if probe.Chunks == nil {
		return head{}, true, nil
	}
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return head{}, false, newClassError(ErrCorrupt, nil, "chunk head does not decode (%s)", jsonProblem(err))
	}
	switch {
	case h.V != 1:
		return head{}, false, newClassError(ErrCorrupt, nil, "chunk head version %d is not supported: upgrade tokentray", h.V)
	case h.Chunks < 1 || h.Chunks > maxChunks:
		return head{}, false, newClassError(ErrCorrupt, nil, "chunk head claims %d chunks", h.Chunks)
	case h.Deleted:
		return h, false, nil
	case h.Len < 0 || h.Len > maxEnvelopeSize:
		return head{}, false, newClassError(ErrCorrupt, nil, "chunk head claims %d bytes", h.Len)
	case len(h.SHA256) != 2*sha256.Size:
		return head{}, false, newClassError(ErrCorrupt, nil, "chunk head has no valid checksum")
	}
	return h, false, nil
}

// state returns the stored generation of user without reading chunks. An
// absent or unreadable head yields the zero state.
func (k *Keychain) state(ctx context.Context, user string) (blobState, error) {
	raw, err := k.get(ctx, user)
	if errors.Is(err, ErrNotFound) {
		return blobState{}, nil
	}
	if err != nil {
		return blobState{}, err
	}
	h, inline, err := parseHead(raw)
	if err != nil || inline {
		return blobState{}, nil
	}
	return blobState{gen: h.Gen, chunks: h.Chunks}, nil
}

// readBlob returns the data stored under user, following chunks. Reads
// take no lock; when a concurrent writer replaced the item mid-read it reads
// again, the last time under the shared lock, which writers exclude.
// locked says the caller holds the writer lock already.
func (k *Keychain) readBlob(ctx context.Context, user string, locked bool) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		if locked {
			data, changed, err := k.readOnce(ctx, user)
			if changed {
				err = newClassError(ErrCorrupt, nil, "item changed while this process held the keychain lock")
			}
			return data, err
		}
		if attempt < readAttempts {
			data, changed, err := k.readOnce(ctx, user)
			if !changed {
				return data, err
			}
			continue
		}
		unlock, err := k.lock(ctx, true)
		if err != nil {
			return nil, err
		}
		data, _, err := k.readOnce(ctx, user)
		unlock()
		return data, err
	}
}

// readOnce reads user once. changed reports chunks that were missing or
// did not match while the head changed meanwhile: a read worth repeating.
func (k *Keychain) readOnce(ctx context.Context, user string) (data []byte, changed bool, err error) {
	raw, err := k.get(ctx, user)
	if err != nil {
		return nil, false, err
	}
	h, inline, err := parseHead(raw)
	if err != nil {
		return nil, false, err
	}
	if inline {
		return []byte(raw), false, nil
	}
	if h.Deleted {
		return nil, false, ErrNotFound
	}
	data, problem, err := k.readChunks(ctx, user, h)
	if err != nil || problem == "" {
		return data, false, err
	}
	again, err := k.get(ctx, user)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	if err != nil || again != raw {
		return nil, true, nil
	}
	return nil, false, newClassError(ErrCorrupt, nil, "%s", problem)
}

// readChunks reads the chunks h points at. problem is non-empty when they
// are missing or do not match the checksum.
func (k *Keychain) readChunks(ctx context.Context, user string, h head) (data []byte, problem string, err error) {
	data = make([]byte, 0, h.Len)
	for i := range h.Chunks {
		c, err := k.get(ctx, chunkName(user, h.Gen, i))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Sprintf("chunk %d of %d is missing", i+1, h.Chunks), nil
		}
		if err != nil {
			return nil, "", err
		}
		if len(data)+len(c) > h.Len {
			return nil, "chunks are longer than their head says", nil
		}
		data = append(data, c...)
	}
	sum := sha256.Sum256(data)
	if len(data) != h.Len || hex.EncodeToString(sum[:]) != h.SHA256 {
		return nil, "chunks do not match their checksum", nil
	}
	return data, "", nil
}

// split cuts data into pieces of at most size bytes, at UTF-8 boundaries.
func split(data []byte, size int) [][]byte {
	var out [][]byte
	for len(data) > size {
		cut := size
		for cut > size-utf8.UTFMax && cut > 0 && !utf8.RuneStart(data[cut]) {
			cut--
		}
		if cut <= size-utf8.UTFMax {
			cut = size
		}
		out = append(out, data[:cut])
		data = data[cut:]
	}
	return append(out, data)
}

// writeBlob replaces the data under user: new chunks first, then the head
// that points at them, then the old chunks. old is the stored generation.
func (k *Keychain) writeBlob(ctx context.Context, user string, data []byte, old blobState) error {
	next := old.gen + 1
	var inline bool
	for {
		size := int(k.chunk.Load())
		var err error
		inline, err = k.writeGeneration(ctx, user, data, size, next, old.chunks > 0)
		if !errors.Is(err, errTooBig) {
			if err != nil {
				return err
			}
			break
		}
		if size/2 < minChunkSize {
			return newClassError(ErrUnavailable, err, "the keychain refuses items of %d bytes; set a smaller chunk size", size)
		}
		k.chunk.CompareAndSwap(int64(size), int64(size/2))
	}
	// The new data is committed; removing what it replaced is cleanup, and
	// chunks it cannot remove now are removed by a later Save or Delete.
	if inline {
		// Chunks of a crashed earlier write of next are unreachable.
		if err := k.sweep(ctx, user, next, 0); err != nil {
			return nil
		}
	}
	if err := k.deleteChunks(ctx, user, old.gen, 0, old.chunks); err != nil {
		return nil
	}
	if old.gen > 0 {
		_ = k.sweep(ctx, user, old.gen-1, 0)
	}
	return nil
}

// writeGeneration writes data inline or as chunks of generation gen
// followed by the head that points at them. Once an item is chunked it
// stays chunked (perhaps in one chunk): an inline head would forget the
// generation whose chunks a failed cleanup may have left behind.
func (k *Keychain) writeGeneration(ctx context.Context, user string, data []byte, size int, gen uint64, chunked bool) (inline bool, err error) {
	if len(data) <= size && !chunked {
		return true, k.set(ctx, user, string(data))
	}
	chunks := split(data, size)
	for i, c := range chunks {
		if err := k.set(ctx, chunkName(user, gen, i), string(c)); err != nil {
			return false, err
		}
	}
	if err := k.sweep(ctx, user, gen, len(chunks)); err != nil {
		return false, err
	}
	sum := sha256.Sum256(data)
	h, err := json.Marshal(head{V: 1, Chunks: len(chunks), Gen: gen, Len: len(data), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return false, err
	}
	return false, k.set(ctx, user, string(h))
}

// sweep deletes the chunks of gen numbered from on, up to the first absent
// one. Chunks are written in ascending and deleted in descending order, so
// the chunks of a generation always form one run from 0 and an interrupted
// sweep or delete leaves a run that a later sweep finds.
func (k *Keychain) sweep(ctx context.Context, user string, gen uint64, from int) error {
	end := from
	for ; end < maxChunks; end++ {
		_, err := k.get(ctx, chunkName(user, gen, end))
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
	}
	return k.deleteChunks(ctx, user, gen, from, end)
}

// deleteChunks deletes chunks [from, end) of gen, last first.
func (k *Keychain) deleteChunks(ctx context.Context, user string, gen uint64, from, end int) error {
	for i := end - 1; i >= from; i-- {
		if err := k.del(ctx, chunkName(user, gen, i)); err != nil {
			return err
		}
	}
	return nil
}

// deleteBlob removes the head of user and every chunk it can find. A
// chunked head is first replaced by a tombstone that remembers the
// generation, so that a Delete interrupted at any point and run again still
// finds every chunk, and Load never sees a head without its chunks.
func (k *Keychain) deleteBlob(ctx context.Context, user string) error {
	st, err := k.state(ctx, user)
	if err != nil {
		return err
	}
	if err := k.sweep(ctx, user, st.gen+1, 0); err != nil {
		return err
	}
	if st.gen > 0 {
		if err := k.sweep(ctx, user, st.gen-1, 0); err != nil {
			return err
		}
	}
	if st.chunks > 0 {
		tomb, err := json.Marshal(head{V: 1, Chunks: st.chunks, Gen: st.gen, Deleted: true})
		if err != nil {
			return err
		}
		if err := k.set(ctx, user, string(tomb)); err != nil {
			return err
		}
		if err := k.deleteChunks(ctx, user, st.gen, 0, st.chunks); err != nil {
			return err
		}
	}
	return k.del(ctx, user)
}

// lock takes the cross-process lock, exclusive for writers or shared for
// readers; the caller must call unlock.
func (k *Keychain) lock(ctx context.Context, shared bool) (unlock func(), err error) {
	if k.lockErr != nil {
		return nil, k.lockErr
	}
	if err := os.MkdirAll(k.lockDir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(k.lockDir, "keychain-"+k.service+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	wait := 4 * k.timeout
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var ok bool
	if shared {
		ok, err = fl.TryRLockContext(lctx, 10*time.Millisecond)
	} else {
		ok, err = fl.TryLockContext(lctx, 10*time.Millisecond)
	}
	if !ok || err != nil {
		_ = fl.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for keychain lock: %w", ctx.Err())
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("take keychain lock %s: %w", path, err)
		}
		return nil, newClassError(ErrTimeout, nil, "another tokentray process held the keychain lock %s for %s", path, wait)
	}
	return func() { _ = fl.Unlock(); _ = fl.Close() }, nil
}

// Load returns the envelope of account. Errors wrap ErrNotFound,
// ErrCorrupt, ErrLocked, ErrTimeout or ErrUnavailable and name the account.
func (k *Keychain) Load(ctx context.Context, account string) (Envelope, error) {
	if err := checkAccount(account); err != nil {
		return Envelope{}, fmt.Errorf("load account from keychain: %w", err)
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
	st, err := k.state(ctx, account)
	if err != nil {
		return fmt.Errorf("save account %q to keychain: %w", account, err)
	}
	if err := k.writeBlob(ctx, account, data, st); err != nil {
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
	names, err := k.readIndex(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list keychain accounts: %w", err)
	}
	return names, nil
}

// index is the stored account list.
type index struct {
	V        int      `json:"v"`
	Accounts []string `json:"accounts"`
}

func (k *Keychain) readIndex(ctx context.Context, locked bool) ([]string, error) {
	data, err := k.readBlob(ctx, indexItem, locked)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account index: %w", err)
	}
	var ix index
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, newClassError(ErrCorrupt, nil, "account index does not decode (%s)", jsonProblem(err))
	}
	if ix.V != 1 {
		return nil, newClassError(ErrCorrupt, nil, "account index version %d is not supported", ix.V)
	}
	names := slices.Clone(ix.Accounts)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// indexAdd records account in the index. A corrupt index is replaced.
func (k *Keychain) indexAdd(ctx context.Context, account string) error {
	names, err := k.readIndex(ctx, true)
	if errors.Is(err, ErrCorrupt) {
		names, err = nil, nil
	}
	if err != nil {
		return err
	}
	if slices.Contains(names, account) {
		return nil
	}
	return k.writeIndex(ctx, append(names, account))
}

func (k *Keychain) indexRemove(ctx context.Context, account string) error {
	names, err := k.readIndex(ctx, true)
	if err != nil {
		return err
	}
	i := slices.Index(names, account)
	if i < 0 {
		return nil
	}
	return k.writeIndex(ctx, slices.Delete(names, i, i+1))
}

func (k *Keychain) writeIndex(ctx context.Context, names []string) error {
	if len(names) == 0 {
		if err := k.deleteBlob(ctx, indexItem); err != nil {
			return fmt.Errorf("account index: %w", err)
		}
		return nil
	}
	slices.Sort(names)
	data, err := json.Marshal(index{V: 1, Accounts: names})
	if err != nil {
		return err
	}
	st, err := k.state(ctx, indexItem)
	if err != nil {
		return fmt.Errorf("account index: %w", err)
	}
	if err := k.writeBlob(ctx, indexItem, data, st); err != nil {
		return fmt.Errorf("account index: %w", err)
	}
	return nil
}

// Probe writes, reads back and deletes a probe item and reports whether
// the keychain is usable.
func (k *Keychain) Probe(ctx context.Context) ProbeResult {
	return probeResult(KindKeychain, k.probe(ctx))
}

func (k *Keychain) probe(ctx context.Context) error {
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
