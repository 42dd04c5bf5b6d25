// The generation journal: the chunk generations of a blob that may exist
// while no head points at them, and their removal.

package vault

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

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
