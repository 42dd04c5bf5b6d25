// Chunked blobs: a blob (an envelope or the index) stored inline in its
// head item or as chunk items of a generation the head points at; reads
// that survive a concurrent writer, replace-safe writes and deletes.

package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

const (
	// minChunkSize is the smallest item size Keychain falls back to when the
	// OS refuses an item as too big.
	minChunkSize = 256
	// maxChunks bounds the chunk count a head may claim.
	maxChunks = 4096
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
