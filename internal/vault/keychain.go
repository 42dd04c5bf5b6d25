package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// locked replaces the check background operations make before
	// touching the keychain (secretServiceLocked for go-keyring, none for
	// a test backend).
	locked func(ctx context.Context) (bool, error)
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

// unsettled is what a Keychain remembers about a blob while a write to one
// of its items timed out and has not yet been repaired.
type unsettled struct {
	pending int               // timed-out writes still running
	landed  bool              // one of them returned since the last repair
	good    map[string]record // item → what this process last wrote to it since
}

// record is a write that succeeded: a value or a deletion.
type record struct {
	value   string
	deleted bool
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

// Wait returns once every keychain write of k that timed out has returned
// and what it may have overwritten is repaired, or with ctx's error. Until
// then k holds the cross-process lock; a process should Wait, briefly,
// before it exits.
func (k *Keychain) Wait(ctx context.Context) error {
	k.mu.Lock()
	ch := k.settled
	k.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for late keychain writes: %w", ctx.Err())
	}
}

// opKind says what a keychain call does.
type opKind int

const (
	opGet opKind = iota
	opSet
	opDelete
)

// op is one keychain call on item user.
type op struct {
	kind  opKind
	user  string
	value string // for opSet
}

// tracked reports whether a late landing of o matters. Probe items are
// random and removed by the next probe.
func (o op) tracked() bool { return o.kind != opGet && o.user != probeItem }

// blobOf returns the blob (account or index) an item belongs to.
func blobOf(user string) string {
	b, _, _ := strings.Cut(user, "#")
	return b
}

// flight is one backend call running in its own goroutine.
type flight struct {
	mu        sync.Mutex
	finished  bool // its result is (being) sent on done
	abandoned bool // the caller gave up; the goroutine reports the landing
	done      chan result
}

type result struct {
	value string
	err   error
}

// call runs o on the backend, giving up after the timeout or when ctx is
// done. A backend call cannot be cancelled: its goroutine, owned by k, ends
// when the OS answers; at most maxInflight such goroutines exist. A write
// given up on is remembered until it returns (see Keychain).
func (k *Keychain) call(ctx context.Context, o op) (string, error) {
	if ctx.Err() != nil {
		return "", ctxError(ctx, k.timeout)
	}
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case k.inflight <- struct{}{}:
	case <-timer.C:
		return "", timeoutError(k.timeout, errors.New("earlier keychain calls have not returned"))
	case <-ctx.Done():
		return "", ctxError(ctx, k.timeout)
	}
	f := &flight{done: make(chan result, 1)}
	go k.run(f, o)
	var gaveUp error
	select {
	case r := <-f.done:
		return k.finish(o, r)
	case <-timer.C:
		gaveUp = timeoutError(k.timeout, nil)
	case <-ctx.Done():
		gaveUp = ctxError(ctx, k.timeout)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return k.finish(o, <-f.done)
	}
	f.abandoned = true
	if o.tracked() {
		k.mu.Lock()
		k.unsettledLocked(blobOf(o.user)).pending++
		k.mu.Unlock()
	}
	return "", gaveUp
}

// run performs o for call and, when call gave up on it, reports its
// landing.
func (k *Keychain) run(f *flight, o op) {
	r := k.do(o)
	<-k.inflight
	f.mu.Lock()
	if !f.abandoned {
		f.finished = true
		f.mu.Unlock()
		f.done <- r
		return
	}
	f.mu.Unlock()
	if o.tracked() {
		k.landed(blobOf(o.user))
	}
}

func (k *Keychain) do(o op) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{err: errors.New("keychain library panicked")}
		}
	}()
	switch o.kind {
	case opSet:
		r.err = k.be.Set(k.service, o.user, o.value)
	case opDelete:
		r.err = k.be.Delete(k.service, o.user)
	default:
		r.value, r.err = k.be.Get(k.service, o.user)
	}
	return r
}

// finish classifies a call's result and remembers a successful write to a
// head or journal item of an unsettled blob.
func (k *Keychain) finish(o op, r result) (string, error) {
	err := classify(r.err)
	if o.tracked() && (err == nil || o.kind == opDelete && errors.Is(err, ErrNotFound)) {
		blob := blobOf(o.user)
		if o.user == blob || o.user == journalName(blob) {
			k.mu.Lock()
			if u := k.unsettled[blob]; u != nil {
				u.good[o.user] = record{value: o.value, deleted: o.kind == opDelete}
			}
			k.mu.Unlock()
		}
	}
	return r.value, err
}

// unsettledLocked returns the unsettled state of blob, creating it. A new
// one keeps the cross-process lock, which the caller (in a locked section)
// holds. k.mu must be held.
func (k *Keychain) unsettledLocked(blob string) *unsettled {
	u := k.unsettled[blob]
	if u == nil {
		u = &unsettled{good: map[string]record{}}
		k.unsettled[blob] = u
		k.refs++
		if k.settled == nil {
			k.settled = make(chan struct{})
		}
	}
	return u
}

// landed runs when a write to an item of blob that timed out returns:
// it repairs blob as soon as no other locked section runs.
func (k *Keychain) landed(blob string) {
	k.mu.Lock()
	u := k.unsettled[blob]
	u.pending--
	u.landed = true
	k.mu.Unlock()
	k.sem <- struct{}{}
	defer func() { <-k.sem }()
	// A failed repair is retried by the next Save or Delete of blob.
	_ = k.repair(context.Background(), blob)
}

// repair rewrites what landed writes to blob's items may have overwritten,
// and once none is pending, removes their chunks and lets blob settle. It
// runs in a locked section.
func (k *Keychain) repair(ctx context.Context, blob string) error {
	k.mu.Lock()
	u := k.unsettled[blob]
	if u == nil || !u.landed {
		k.mu.Unlock()
		return nil
	}
	u.landed = false
	good := maps.Clone(u.good)
	k.mu.Unlock()
	for _, item := range slices.Sorted(maps.Keys(good)) {
		if err := k.ensure(ctx, item, good[item]); err != nil {
			k.mu.Lock()
			u.landed = true
			k.mu.Unlock()
			return fmt.Errorf("repair after a late keychain write: %w", err)
		}
	}
	k.mu.Lock()
	quiet := u.pending == 0 && !u.landed
	k.mu.Unlock()
	if quiet {
		// Best effort: generations left in the journal are removed later.
		_ = k.sweepJournal(ctx, blob)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if u.pending == 0 && !u.landed {
		delete(k.unsettled, blob)
		k.releaseLocked()
		if len(k.unsettled) == 0 && k.settled != nil {
			close(k.settled)
			k.settled = nil
		}
	}
	return nil
}

// ensure makes item hold rec.
func (k *Keychain) ensure(ctx context.Context, item string, rec record) error {
	v, err := k.get(ctx, item)
	switch {
	case errors.Is(err, ErrNotFound):
		if rec.deleted {
			return nil
		}
	case err != nil:
		return err
	case !rec.deleted && v == rec.value:
		return nil
	}
	if rec.deleted {
		return k.del(ctx, item)
	}
	return k.set(ctx, item, rec.value)
}

// recorded returns what this process last wrote to the head item user
// while the blob is unsettled: the truth, whatever a late write did.
func (k *Keychain) recorded(user string) (record, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if u := k.unsettled[user]; u != nil {
		rec, ok := u.good[user]
		return rec, ok
	}
	return record{}, false
}

// settledBlob reports that no late write to blob's items is pending.
func (k *Keychain) settledBlob(blob string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	u := k.unsettled[blob]
	return u == nil || u.pending == 0
}

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

func ctxError(ctx context.Context, d time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError(d, ctx.Err())
	}
	return fmt.Errorf("keychain call abandoned: %w", ctx.Err())
}

func (k *Keychain) get(ctx context.Context, user string) (string, error) {
	return k.call(ctx, op{kind: opGet, user: user})
}

func (k *Keychain) set(ctx context.Context, user, value string) error {
	_, err := k.call(ctx, op{kind: opSet, user: user, value: value})
	return err
}

// del deletes an item; an absent item is not an error.
func (k *Keychain) del(ctx context.Context, user string) error {
	_, err := k.call(ctx, op{kind: opDelete, user: user})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// headValue returns the head item of user: what this process wrote last
// while the blob is unsettled, else what the keychain holds.
func (k *Keychain) headValue(ctx context.Context, user string) (string, error) {
	if rec, ok := k.recorded(user); ok {
		if rec.deleted {
			return "", ErrNotFound
		}
		return rec.value, nil
	}
	return k.get(ctx, user)
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
	raw, err := k.headValue(ctx, user)
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
	raw, err := k.headValue(ctx, user)
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
	again, err := k.headValue(ctx, user)
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

// genRef names a chunk generation and how many chunks it may have.
type genRef struct {
	Gen    uint64 `json:"gen"`
	Chunks int    `json:"chunks"`
}

// journal is the item listing chunk generations of a blob that may exist
// in the keychain while no head points at them: written before their
// chunks, cleared once they are removed.
type journal struct {
	V    int      `json:"v"`
	Gens []genRef `json:"gens"`
}

// maxJournal bounds the journal; beyond it the oldest generations are
// forgotten (their chunks then stay: 16 cleanups in a row must fail).
const maxJournal = 16

// legacyGen bounds the sequential generations tokentray numbered chunks
// with before they became random; their neighbours may hold leftovers.
const legacyGen = 1 << 32

func journalName(user string) string { return user + "#journal" }

// newGen returns a random generation no late write can be headed for:
// 62 random bits, above every legacy generation.
func newGen(avoid []genRef) uint64 {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		g := binary.BigEndian.Uint64(b[:])>>2 | 1<<62
		if !slices.ContainsFunc(avoid, func(r genRef) bool { return r.Gen == g }) {
			return g
		}
	}
}

// readJournal returns the generations listed for user. An unreadable
// journal is empty: it only ever costs leftover chunks.
func (k *Keychain) readJournal(ctx context.Context, user string) ([]genRef, error) {
	raw, err := k.headValue(ctx, journalName(user))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read chunk journal: %w", err)
	}
	var j journal
	if json.Unmarshal([]byte(raw), &j) != nil || j.V != 1 {
		return nil, nil
	}
	return slices.DeleteFunc(j.Gens, func(g genRef) bool { return g.Chunks < 1 || g.Chunks > maxChunks }), nil
}

// writeJournal stores gens as user's journal, removing it when empty.
func (k *Keychain) writeJournal(ctx context.Context, user string, gens []genRef) error {
	if len(gens) == 0 {
		if err := k.del(ctx, journalName(user)); err != nil {
			return fmt.Errorf("clear chunk journal: %w", err)
		}
		return nil
	}
	if len(gens) > maxJournal {
		gens = gens[len(gens)-maxJournal:]
	}
	b, err := json.Marshal(journal{V: 1, Gens: gens})
	if err != nil {
		return err
	}
	if err := k.set(ctx, journalName(user), string(b)); err != nil {
		if errors.Is(err, errTooBig) {
			err = newClassError(ErrUnavailable, err, "chunk journal")
		}
		return fmt.Errorf("write chunk journal: %w", err)
	}
	return nil
}

func addGen(gens []genRef, g genRef) []genRef {
	if g.Chunks < 1 || slices.Contains(gens, g) {
		return gens
	}
	return append(slices.Clone(gens), g)
}

// writeBlob replaces the data under user. Chunks go to a new random
// generation, recorded in the journal before they are written; then the
// head that points at them; then, once the head and chunks read back as
// written, the old generation and any the journal lists are removed.
func (k *Keychain) writeBlob(ctx context.Context, user string, data []byte) error {
	if err := k.repair(ctx, user); err != nil {
		return err
	}
	old, err := k.state(ctx, user)
	if err != nil {
		return err
	}
	stored, err := k.readJournal(ctx, user)
	if err != nil {
		return err
	}
	// stale: generations that may hold chunks and that no head will point
	// at once data is committed.
	stale := addGen(stored, genRef{old.gen, old.chunks})
	var written string
	var gen genRef
	for {
		size := int(k.chunk.Load())
		// Once an item is chunked it stays chunked (perhaps in one chunk).
		chunked := len(data) > size || old.chunks > 0
		if chunked {
			gen = genRef{newGen(stale), len(split(data, size))}
			stale = addGen(stale, gen)
			if err = k.writeJournal(ctx, user, stale); err == nil {
				stored = stale
				written, err = k.writeChunks(ctx, user, data, size, gen)
			}
		} else {
			written = string(data)
			err = k.set(ctx, user, written)
		}
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
	// The new data is committed. What it replaced is removed only once it
	// reads back as written; chunks not removed now stay in the journal
	// for a later Save or Delete.
	stale = slices.DeleteFunc(slices.Clone(stale), func(g genRef) bool { return g == gen })
	if len(stale) == 0 && len(stored) == 0 {
		return nil
	}
	if err := k.verify(ctx, user, written); err != nil {
		return err
	}
	keep := k.removeGens(ctx, user, stale, genRef{old.gen, old.chunks})
	if old.chunks > 0 && old.gen < legacyGen {
		_ = k.sweep(ctx, user, old.gen+1, 0)
		_ = k.sweep(ctx, user, old.gen-1, 0)
	}
	if !slices.Equal(keep, stored) {
		_ = k.writeJournal(ctx, user, keep)
	}
	return nil
}

// verify reads back the head of user and the chunks it points at and
// checks that they are what was written.
func (k *Keychain) verify(ctx context.Context, user, written string) error {
	raw, err := k.get(ctx, user)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if raw != written {
		return newClassError(ErrUnavailable, nil, "read back: the keychain does not hold the item just written")
	}
	h, inline, err := parseHead(raw)
	if err != nil || inline {
		return err
	}
	_, problem, err := k.readChunks(ctx, user, h)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if problem != "" {
		return newClassError(ErrUnavailable, nil, "read back: %s", problem)
	}
	return nil
}

// removeGens deletes the chunks of gens and returns those it did not
// remove. While a late write to user's items is pending, only the
// generation replaced (committed earlier, so complete) goes: the others
// could still gain a chunk and stay listed until the write has landed.
func (k *Keychain) removeGens(ctx context.Context, user string, gens []genRef, replaced genRef) (keep []genRef) {
	quiet := k.settledBlob(user)
	for _, g := range gens {
		if !quiet && g != replaced {
			keep = append(keep, g)
			continue
		}
		if err := k.deleteChunks(ctx, user, g.Gen, 0, g.Chunks); err != nil {
			keep = append(keep, g)
		}
	}
	return keep
}

// sweepJournal removes the chunks of the generations in user's journal
// that the head does not point at.
func (k *Keychain) sweepJournal(ctx context.Context, user string) error {
	stored, err := k.readJournal(ctx, user)
	if err != nil || len(stored) == 0 {
		return err
	}
	cur, err := k.state(ctx, user)
	if err != nil {
		return err
	}
	gens := slices.DeleteFunc(slices.Clone(stored), func(g genRef) bool { return g.Gen == cur.gen })
	keep := k.removeGens(ctx, user, gens, genRef{})
	if slices.Equal(keep, stored) {
		return nil
	}
	return k.writeJournal(ctx, user, keep)
}

// writeChunks writes data as chunks of gen followed by the head that
// points at them, and returns the head.
func (k *Keychain) writeChunks(ctx context.Context, user string, data []byte, size int, gen genRef) (string, error) {
	for i, c := range split(data, size) {
		if err := k.set(ctx, chunkName(user, gen.Gen, i), string(c)); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(data)
	h, err := json.Marshal(head{V: 1, Chunks: gen.Chunks, Gen: gen.Gen, Len: len(data), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return "", err
	}
	return string(h), k.set(ctx, user, string(h))
}

// sweep deletes the chunks of a legacy generation numbered from on, up to
// the first absent one.
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

// deleteBlob removes the head of user and every chunk it can find. The
// head's generation goes into the journal first, so that a Delete
// interrupted at any point and run again still finds every chunk.
func (k *Keychain) deleteBlob(ctx context.Context, user string) error {
	if err := k.repair(ctx, user); err != nil {
		return err
	}
	cur, err := k.state(ctx, user)
	if err != nil {
		return err
	}
	stored, err := k.readJournal(ctx, user)
	if err != nil {
		return err
	}
	gens := addGen(stored, genRef{cur.gen, cur.chunks})
	if len(gens) > len(stored) {
		if err := k.writeJournal(ctx, user, gens); err != nil {
			return err
		}
	}
	if err := k.del(ctx, user); err != nil {
		return err
	}
	if cur.chunks > 0 && cur.gen < legacyGen {
		if err := k.sweep(ctx, user, cur.gen+1, 0); err != nil {
			return err
		}
		if err := k.sweep(ctx, user, cur.gen-1, 0); err != nil {
			return err
		}
	}
	quiet := k.settledBlob(user)
	var keep []genRef
	for _, g := range gens {
		if !quiet {
			keep = append(keep, g)
			continue
		}
		if err := k.deleteChunks(ctx, user, g.Gen, 0, g.Chunks); err != nil {
			return err
		}
	}
	return k.writeJournal(ctx, user, keep)
}

// lock enters a locked section: one per Keychain at a time, holding the
// cross-process lock file, exclusive for writers or shared for readers.
// The caller must call unlock.
func (k *Keychain) lock(ctx context.Context, shared bool) (unlock func(), err error) {
	if k.lockErr != nil {
		return nil, k.lockErr
	}
	wait := 4 * k.timeout
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case k.sem <- struct{}{}:
	case <-timer.C:
		return nil, newClassError(ErrTimeout, nil, "another keychain operation of this process held the keychain lock for %s", wait)
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for keychain lock: %w", ctx.Err())
	}
	// Only a locked section adds to refs, and none other runs: while
	// refs > 0, this process holds the lock file exclusively.
	k.mu.Lock()
	held := k.refs > 0
	k.mu.Unlock()
	if !held {
		fl, err := k.lockFile(ctx, shared, wait)
		if err != nil {
			<-k.sem
			return nil, err
		}
		k.mu.Lock()
		k.fl = fl
		k.mu.Unlock()
	}
	k.mu.Lock()
	k.refs++
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		k.releaseLocked()
		k.mu.Unlock()
		<-k.sem
	}, nil
}

// releaseLocked drops one reference to the lock file. k.mu must be held.
func (k *Keychain) releaseLocked() {
	k.refs--
	if k.refs == 0 && k.fl != nil {
		_ = k.fl.Unlock()
		_ = k.fl.Close()
		k.fl = nil
	}
}

// lockFile takes the cross-process lock file within wait.
func (k *Keychain) lockFile(ctx context.Context, shared bool, wait time.Duration) (*flock.Flock, error) {
	if err := os.MkdirAll(k.lockDir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(k.lockDir, "keychain-"+k.service+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var ok bool
	var err error
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
	return fl, nil
}

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
	if err := k.writeBlob(ctx, indexItem, data); err != nil {
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
