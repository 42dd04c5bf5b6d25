package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// isItem matches any write to the head item of account.
func isItem(account string) func(string, string) bool {
	return func(_, user string) bool { return user == account }
}

// isChunk matches writing chunk i of any generation of account.
func isChunk(account string, i string) func(string, string) bool {
	return func(op, user string) bool {
		return op == "set" && strings.HasPrefix(user, account+"#") && strings.HasSuffix(user, "."+i)
	}
}

// isChunkDelete matches deleting any chunk of account.
func isChunkDelete(account string) func(string, string) bool {
	return func(op, user string) bool {
		return op == "delete" && strings.HasPrefix(user, account+"#") && !strings.HasSuffix(user, "#journal")
	}
}

// lateEnvelope is an envelope of about n bytes whose every chunk differs
// from another tag's.
func lateEnvelope(tag string, n int) Envelope {
	e := fullEnvelope()
	e.RefreshToken = "rt-" + tag
	e.AccessToken = strings.Repeat(tag, max(n-400, 1))
	return e
}

// wantItems returns the items a keychain holding only e for account (and
// the index) has, given chunk size size: once chunked, always chunked.
func wantItems(t *testing.T, store *storeKeychain, account string, chunked bool) []string {
	t.Helper()
	want := []string{account, indexItem}
	if chunked {
		h, inline, err := parseHead(store.value(account))
		if err != nil || inline {
			t.Fatalf("head of %q = inline %v, %v; want a chunk head", account, inline, err)
		}
		for i := range h.Chunks {
			want = append(want, chunkName(account, h.Gen, i))
		}
	}
	return want
}

// TestKeychainLateWriteCannotRollBack: a write that timed out lands after
// the next Save succeeded. Load must still return the newest envelope, and
// the chunks the late write left must be removed.
func TestKeychainLateWriteCannotRollBack(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		stuck func(op, user string) bool
	}{
		{"inline head", 600, isItem("work")},
		{"chunked head", 16 << 10, isItem("work")},
		{"chunked first chunk", 16 << 10, isChunk("work", "0")},
		{"chunked second chunk", 16 << 10, isChunk("work", "1")},
		{"old chunk delete", 16 << 10, isChunkDelete("work")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				late := newLateKeychain()
				k := NewKeychain(KeychainOptions{ChunkSize: 2560, Timeout: time.Second, LockDir: t.TempDir(), backend: late})
				ctx := t.Context()
				a, b, c := lateEnvelope("a", tt.size), lateEnvelope("b", tt.size+100), lateEnvelope("c", tt.size+200)
				if err := k.Save(ctx, "work", a); err != nil {
					t.Fatalf("Save(a) = %v", err)
				}
				late.arm(tt.stuck)
				errB := k.Save(ctx, "work", b)
				select {
				case <-late.blocked:
				default:
					t.Fatalf("Save(b) = %v and no write was held", errB)
				}
				if tt.name != "old chunk delete" && !errors.Is(errB, ErrTimeout) {
					t.Fatalf("Save(b) with a stuck write = %v; want ErrTimeout", errB)
				}
				if err := k.Save(ctx, "work", c); err != nil {
					t.Fatalf("Save(c) while b's write is stuck = %v", err)
				}
				if got, err := k.Load(ctx, "work"); err != nil || !sameEnvelope(got, c) {
					t.Fatalf("Load() while b's write is stuck = %v, %v; want envelope c", got.RefreshToken, err)
				}
				short, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				if err := k.Wait(short); tt.name != "old chunk delete" && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Wait() while a write is stuck = %v; want DeadlineExceeded", err)
				}
				late.land()
				if err := k.Wait(ctx); err != nil {
					t.Errorf("Wait() after the late write landed = %v", err)
				}
				synctest.Wait()
				got, err := k.Load(ctx, "work")
				if err != nil || !sameEnvelope(got, c) {
					t.Fatalf("Load() after the late write landed = %v, %v; want envelope c", got.RefreshToken, err)
				}
				fresh := NewKeychain(KeychainOptions{ChunkSize: 2560, LockDir: t.TempDir(), backend: late.storeKeychain})
				if got, err := fresh.Load(ctx, "work"); err != nil || !sameEnvelope(got, c) {
					t.Fatalf("Load() by another process after the late write = %v, %v; want envelope c", got.RefreshToken, err)
				}
				want := wantItems(t, late.storeKeychain, "work", tt.size > 2560)
				if diff := cmp.Diff(sorted(want), late.users()); diff != "" {
					t.Errorf("items after the late write (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestKeychainLateWriteHoldsOtherProcesses: while a write that timed out
// may still land, other processes cannot save (they could not know to
// repair what it overwrites); once it has landed they can.
func TestKeychainLateWriteHoldsOtherProcesses(t *testing.T) {
	for _, size := range []int{600, 16 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				late := newLateKeychain()
				lockDir := t.TempDir()
				k := NewKeychain(KeychainOptions{ChunkSize: 2560, Timeout: time.Second, LockDir: lockDir, backend: late})
				other := NewKeychain(KeychainOptions{ChunkSize: 2560, Timeout: time.Second, LockDir: lockDir, backend: late.storeKeychain})
				ctx := t.Context()
				a, b, c := lateEnvelope("a", size), lateEnvelope("b", size), lateEnvelope("c", size)
				if err := k.Save(ctx, "work", a); err != nil {
					t.Fatalf("Save(a) = %v", err)
				}
				late.arm(isItem("work"))
				if err := k.Save(ctx, "work", b); !errors.Is(err, ErrTimeout) {
					t.Fatalf("Save(b) with a stuck write = %v; want ErrTimeout", err)
				}
				err := other.Save(ctx, "work", c)
				if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "keychain lock") {
					t.Errorf("other process Save(c) while a late write may land = %v; want ErrTimeout naming the lock", err)
				}
				late.land()
				synctest.Wait()
				if err := other.Save(ctx, "work", c); err != nil {
					t.Fatalf("other process Save(c) after the late write landed = %v", err)
				}
				if got, err := k.Load(ctx, "work"); err != nil || !sameEnvelope(got, c) {
					t.Errorf("Load() = %v, %v; want envelope c", got.RefreshToken, err)
				}
			})
		})
	}
}

// TestKeychainLateDeleteCannotRemoveNewerSave: a Delete whose head removal
// timed out lands after the account was saved again.
func TestKeychainLateDeleteCannotRemoveNewerSave(t *testing.T) {
	for _, size := range []int{600, 16 << 10} {
		synctest.Test(t, func(t *testing.T) {
			late := newLateKeychain()
			k := NewKeychain(KeychainOptions{ChunkSize: 2560, Timeout: time.Second, LockDir: t.TempDir(), backend: late})
			ctx := t.Context()
			if err := k.Save(ctx, "work", lateEnvelope("a", size)); err != nil {
				t.Fatalf("Save(a) = %v", err)
			}
			late.arm(isItem("work"))
			if err := k.Delete(ctx, "work"); !errors.Is(err, ErrTimeout) {
				t.Fatalf("Delete() with a stuck write = %v; want ErrTimeout", err)
			}
			c := lateEnvelope("c", size)
			if err := k.Save(ctx, "work", c); err != nil {
				t.Fatalf("Save(c) = %v", err)
			}
			late.land()
			synctest.Wait()
			if got, err := k.Load(ctx, "work"); err != nil || !sameEnvelope(got, c) {
				t.Errorf("size %d: Load() after the late Delete landed = %v, %v; want envelope c", size, got.RefreshToken, err)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestKeychainReadsAndReplacesLegacyItems: items written by tokentray
// before generations were random (sequential generations, neighbours left
// by crashes or failed cleanups, tombstones) still load, and a Save
// replaces them leaving nothing behind.
func TestKeychainReadsAndReplacesLegacyItems(t *testing.T) {
	legacy := func(store *storeKeychain, e Envelope, gen uint64) {
		data, err := Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		chunks := split(data, 2560)
		for i, c := range chunks {
			store.put(chunkName("work", gen, i), string(c))
		}
		sum := sha256.Sum256(data)
		h, _ := json.Marshal(head{V: 1, Chunks: len(chunks), Gen: gen, Len: len(data), SHA256: hex.EncodeToString(sum[:])})
		store.put("work", string(h))
		store.put(indexItem, `{"v":1,"accounts":["work"]}`)
	}
	store := newStoreKeychain()
	old := envelopeOfSize("old", 9<<10)
	legacy(store, old, 3)
	store.put(chunkName("work", 4, 0), "left by a crashed write")
	store.put(chunkName("work", 2, 0), "left by a failed cleanup")
	k := newTestKeychain(t, store, 2560)
	if got, err := k.Load(t.Context(), "work"); err != nil || !sameEnvelope(got, old) {
		t.Fatalf("Load() of a legacy item = %v; want its envelope", err)
	}
	e := envelopeOfSize("new", 12<<10)
	if err := k.Save(t.Context(), "work", e); err != nil {
		t.Fatalf("Save() over a legacy item = %v", err)
	}
	if got, err := k.Load(t.Context(), "work"); err != nil || !sameEnvelope(got, e) {
		t.Fatalf("Load() = %v; want the new envelope", err)
	}
	if diff := cmp.Diff(sorted(wantItems(t, store, "work", true)), store.users()); diff != "" {
		t.Errorf("items after replacing a legacy item (-want +got):\n%s", diff)
	}
	if g := storedGen(store, "work"); g < legacyGen {
		t.Errorf("new generation %d is sequential; want a random one", g)
	}

	// A legacy tombstone (an interrupted Delete) reads as absent and is
	// cleaned up by the next Delete.
	tomb := newStoreKeychain()
	legacy(tomb, old, 7)
	h, _, _ := parseHead(tomb.value("work"))
	tomb.put("work", fmt.Sprintf(`{"v":1,"chunks":%d,"gen":7,"deleted":true}`, h.Chunks))
	k = newTestKeychain(t, tomb, 2560)
	if _, err := k.Load(t.Context(), "work"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load() of a legacy tombstone = %v; want ErrNotFound", err)
	}
	if err := k.Delete(t.Context(), "work"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if left := tomb.users(); len(left) != 0 {
		t.Errorf("after Delete of a legacy tombstone the keychain holds %q", left)
	}
}

// TestKeychainGenerationsAreRandom: no Save reuses or counts up from the
// generation before it.
func TestKeychainGenerationsAreRandom(t *testing.T) {
	store := newStoreKeychain()
	k := newTestKeychain(t, store, 2560)
	seen := map[uint64]bool{}
	var prev uint64
	for i := range 20 {
		if err := k.Save(t.Context(), "work", envelopeOfSize(fmt.Sprint(i), 6<<10)); err != nil {
			t.Fatal(err)
		}
		g := storedGen(store, "work")
		if seen[g] || g == prev+1 || g < legacyGen {
			t.Fatalf("Save #%d used generation %d after %d", i, g, prev)
		}
		seen[g], prev = true, g
	}
}
