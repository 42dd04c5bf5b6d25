package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func newTestKeychain(t *testing.T, be backend, chunk int) *Keychain {
	t.Helper()
	return NewKeychain(KeychainOptions{ChunkSize: chunk, LockDir: t.TempDir(), backend: be})
}

// envelopeOfSize returns an envelope whose encoding is about n bytes.
func envelopeOfSize(tag string, n int) Envelope {
	e := fullEnvelope()
	e.RefreshToken = "rt-" + tag
	e.AccessToken = tag + "-" + bigToken(max(n-400, 1))
	return e
}

func sameEnvelope(a, b Envelope) bool {
	a.Version, b.Version = CurrentVersion, CurrentVersion
	return cmp.Equal(a, b, cmpopts.EquateEmpty())
}

func TestKeychainChunksRespectItemSize(t *testing.T) {
	tests := []struct {
		name  string
		chunk int
		size  int
	}{
		{"windows 16KiB", DefaultChunkSize("windows"), 16 << 10},
		{"darwin 16KiB", DefaultChunkSize("darwin"), 16 << 10},
		{"linux 16KiB inline", DefaultChunkSize("linux"), 16 << 10},
		{"windows exactly one chunk", 2560, 2560},
		{"tiny chunks", 300, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tooSmallKeychain(tt.chunk)
			k := newTestKeychain(t, fake, tt.chunk)
			e := envelopeOfSize("a", tt.size)
			if err := k.Save(t.Context(), "work", e); err != nil {
				t.Fatalf("Save() = %v", err)
			}
			got, err := k.Load(t.Context(), "work")
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			if !sameEnvelope(e, got) {
				t.Errorf("Load() returned a different envelope")
			}
			for _, u := range fake.users() {
				if n := len(fake.value(u)); n > tt.chunk {
					t.Errorf("item %q is %d bytes; want at most %d", u, n, tt.chunk)
				}
			}
		})
	}
}

func TestKeychainReplaceLeavesNoOldChunks(t *testing.T) {
	fake := newStoreKeychain()
	k := newTestKeychain(t, fake, 2560)
	ctx := t.Context()
	sizes := []int{16 << 10, 8 << 10, 100, 12 << 10, 12 << 10, 200}
	for i, size := range sizes {
		e := envelopeOfSize(fmt.Sprint(i), size)
		if err := k.Save(ctx, "work", e); err != nil {
			t.Fatalf("Save(#%d) = %v", i, err)
		}
		got, err := k.Load(ctx, "work")
		if err != nil || !sameEnvelope(e, got) {
			t.Fatalf("Load() after Save(#%d) = %v, %v; want the saved envelope", i, got, err)
		}
		data, _ := Encode(e)
		wantItems := 2                 // head and index
		if len(data) > 2560 || i > 0 { // once chunked, always chunked
			wantItems += len(split(data, 2560))
		}
		if got := len(fake.users()); got != wantItems {
			t.Errorf("after Save(#%d) of %d bytes the keychain holds %d items %q; want %d", i, len(data), got, fake.users(), wantItems)
		}
	}
	if err := k.Delete(ctx, "work"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if got := fake.users(); len(got) != 0 {
		t.Errorf("after Delete the keychain holds %q; want nothing", got)
	}
}

// TestKeychainCrashAtEveryStep interrupts a Save after each of its writes
// and checks that the old or the new envelope is readable, and that a
// later Save and Delete leave nothing behind.
func TestKeychainCrashAtEveryStep(t *testing.T) {
	const chunk = 2560
	tests := []struct {
		name     string
		old, new int // envelope sizes; 0 = absent
	}{
		{"absent to small", 0, 500},
		{"absent to big", 0, 16 << 10},
		{"small to big", 500, 16 << 10},
		{"big to bigger", 8 << 10, 16 << 10},
		{"big to smaller", 16 << 10, 8 << 10},
		{"big to small", 16 << 10, 500},
		{"small to small", 400, 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldEnv, newEnv := envelopeOfSize("old", tt.old), envelopeOfSize("new", tt.new)
			setup := func() *storeKeychain {
				store := newStoreKeychain()
				// Saving old three times moves past generation 1.
				for range min(tt.old, 3) {
					if err := newTestKeychain(t, store, chunk).Save(t.Context(), "work", oldEnv); err != nil {
						t.Fatalf("Save(old) = %v", err)
					}
				}
				return store
			}
			counter := &countingKeychain{storeKeychain: setup()}
			if err := newTestKeychain(t, counter, chunk).Save(t.Context(), "work", newEnv); err != nil {
				t.Fatalf("Save(new) = %v", err)
			}
			if counter.writes < 1 {
				t.Fatalf("Save(new) made %d writes", counter.writes)
			}
			for n := range counter.writes {
				store := setup()
				crashing := newTestKeychain(t, &failAfterN{store: store, n: n}, chunk)
				saveErr := crashing.Save(t.Context(), "work", newEnv)
				if saveErr != nil && !errors.Is(saveErr, ErrUnavailable) {
					t.Fatalf("Save() crashing after %d writes = %v; want ErrUnavailable", n, saveErr)
				}
				healthy := newTestKeychain(t, store, chunk)
				got, err := healthy.Load(t.Context(), "work")
				switch {
				case saveErr == nil && (err != nil || !sameEnvelope(got, newEnv)):
					// A crash while removing replaced chunks: the new
					// envelope is committed and Save reports success.
					t.Errorf("crash after %d writes: Save() = nil but Load() = %v; want the new envelope", n, err)
				case tt.old == 0 && errors.Is(err, ErrNotFound):
				case err != nil:
					t.Errorf("crash after %d of %d writes: Load() = %v; want old or new envelope", n, counter.writes, err)
				case !sameEnvelope(got, oldEnv) && !sameEnvelope(got, newEnv):
					t.Errorf("crash after %d of %d writes: Load() = a mix of old and new", n, counter.writes)
				}
				third := envelopeOfSize("third", 10<<10)
				if err := healthy.Save(t.Context(), "work", third); err != nil {
					t.Fatalf("Save() after crash = %v", err)
				}
				if got, err := healthy.Load(t.Context(), "work"); err != nil || !sameEnvelope(got, third) {
					t.Errorf("Load() after crash and Save = %v, %v; want the third envelope", got, err)
				}
				if err := healthy.Delete(t.Context(), "work"); err != nil {
					t.Fatalf("Delete() after crash = %v", err)
				}
				if left := store.users(); len(left) != 0 {
					t.Errorf("crash after %d writes, Save, Delete: keychain still holds %q", n, left)
				}
			}
		})
	}
}

// TestKeychainDeleteCrashAtEveryStep interrupts Delete after each write: the
// account is then either whole or gone, and a second Delete removes all.
func TestKeychainDeleteCrashAtEveryStep(t *testing.T) {
	const chunk = 2560
	for _, size := range []int{500, 16 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := envelopeOfSize("x", size)
			setup := func() *storeKeychain {
				store := newStoreKeychain()
				k := newTestKeychain(t, store, chunk)
				for _, a := range []string{"work", "home"} {
					if err := k.Save(t.Context(), a, e); err != nil {
						t.Fatalf("Save(%q) = %v", a, err)
					}
				}
				return store
			}
			counter := &countingKeychain{storeKeychain: setup()}
			if err := newTestKeychain(t, counter, chunk).Delete(t.Context(), "work"); err != nil {
				t.Fatalf("Delete() = %v", err)
			}
			for n := range counter.writes {
				store := setup()
				if err := newTestKeychain(t, &failAfterN{store: store, n: n}, chunk).Delete(t.Context(), "work"); err == nil {
					t.Fatalf("Delete() crashing after %d writes = nil; want an error", n)
				}
				healthy := newTestKeychain(t, store, chunk)
				got, err := healthy.Load(t.Context(), "work")
				if !errors.Is(err, ErrNotFound) && (err != nil || !sameEnvelope(got, e)) {
					t.Errorf("crash after %d writes: Load() = %v; want the envelope or ErrNotFound", n, err)
				}
				if err := healthy.Delete(t.Context(), "work"); err != nil {
					t.Fatalf("Delete() again = %v", err)
				}
				if got, err := healthy.List(t.Context()); err != nil || !cmp.Equal(got, []string{"home"}) {
					t.Errorf("List() = %q, %v; want [home]", got, err)
				}
				for _, u := range store.users() {
					if strings.HasPrefix(u, "work") {
						t.Errorf("crash after %d writes and Delete: item %q remains", n, u)
					}
				}
			}
		})
	}
}

func TestKeychainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := newSlowKeychain()
		defer close(slow.release)
		k := NewKeychain(KeychainOptions{Timeout: 2 * time.Second, LockDir: t.TempDir(), backend: slow})
		start := time.Now()
		_, err := k.Load(t.Context(), "work")
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Load() = %v; want ErrTimeout", err)
		}
		if !strings.Contains(err.Error(), "keychain did not answer within 2s") {
			t.Errorf("Load() = %q; want it to say the keychain did not answer within 2s", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Load() returned after %v; want 2s", d)
		}
		// Calls that never return use up the in-flight slots; later calls
		// still return within the timeout.
		for range maxInflight + 2 {
			start := time.Now()
			if r := k.Probe(t.Context()); r.Status != ProbeTimeout || !errors.Is(r.Err, ErrTimeout) {
				t.Errorf("Probe() = %+v; want timeout", r)
			}
			if d := time.Since(start); d != 2*time.Second {
				t.Errorf("Probe() returned after %v; want 2s", d)
			}
		}
		if got := len(k.inflight); got != maxInflight {
			t.Errorf("%d calls in flight; want at most %d", got, maxInflight)
		}
	})
}

func TestKeychainDefaultTimeoutMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := newSlowKeychain()
		defer close(slow.release)
		k := NewKeychain(KeychainOptions{LockDir: t.TempDir(), backend: slow})
		_, err := k.Load(t.Context(), "work")
		if want := `load account "work" from keychain: keychain did not answer within 5s`; err == nil || err.Error() != want {
			t.Errorf("Load() = %v; want %q", err, want)
		}
	})
}

func TestKeychainCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := newSlowKeychain()
		defer close(slow.release)
		k := NewKeychain(KeychainOptions{LockDir: t.TempDir(), backend: slow})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := k.Load(ctx, "work")
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Load() = %v; want ErrTimeout and DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Load() returned after %v; want 1s", d)
		}
	})
}

func TestKeychainErrorClasses(t *testing.T) {
	tests := []struct {
		name       string
		be         backend
		want       error
		wantStatus ProbeStatus
	}{
		{"locked", lockedKeychain{}, ErrLocked, ProbeLocked},
		{"no secret service", noSecretService{}, ErrUnavailable, ProbeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKeychain(t, tt.be, 0)
			ctx := t.Context()
			if _, err := k.Load(ctx, "work"); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), `"work"`) {
				t.Errorf("Load() = %v; want %v naming the account", err, tt.want)
			}
			if err := k.Save(ctx, "work", fullEnvelope()); !errors.Is(err, tt.want) {
				t.Errorf("Save() = %v; want %v", err, tt.want)
			}
			if err := k.Delete(ctx, "work"); !errors.Is(err, tt.want) {
				t.Errorf("Delete() = %v; want %v", err, tt.want)
			}
			if _, err := k.List(ctx); !errors.Is(err, tt.want) {
				t.Errorf("List() = %v; want %v", err, tt.want)
			}
			r := k.Probe(ctx)
			if r.Status != tt.wantStatus || !errors.Is(r.Err, tt.want) || r.Kind != KindKeychain {
				t.Errorf("Probe() = %+v; want status %q", r, tt.wantStatus)
			}
		})
	}
}

func TestKeychainLearnsSmallerChunks(t *testing.T) {
	fake := tooSmallKeychain(1000)
	k := newTestKeychain(t, fake, 2560)
	e := envelopeOfSize("a", 16<<10)
	if err := k.Save(t.Context(), "work", e); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	if got, err := k.Load(t.Context(), "work"); err != nil || !sameEnvelope(got, e) {
		t.Fatalf("Load() = %v, %v; want the envelope", got, err)
	}
	for _, u := range fake.users() {
		if n := len(fake.value(u)); n > 1000 {
			t.Errorf("item %q is %d bytes; want at most 1000", u, n)
		}
	}

	tiny := newTestKeychain(t, tooSmallKeychain(100), 2560)
	err := tiny.Save(t.Context(), "work", e)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "smaller chunk size") {
		t.Errorf("Save() into a keychain taking 100 bytes = %v; want ErrUnavailable asking for a smaller chunk size", err)
	}
}

func TestKeychainCorruptItems(t *testing.T) {
	good := envelopeOfSize("a", 8<<10)
	tests := []struct {
		name   string
		mangle func(s *storeKeychain)
		want   string
	}{
		{"head not json", func(s *storeKeychain) { s.put("work", "rt-SECRET garbage") }, "not a JSON object"},
		{"inline envelope without version", func(s *storeKeychain) { s.put("work", `{"rt":"rt-SECRET"}`) }, "no format version"},
		{"head claims no chunks", func(s *storeKeychain) { s.put("work", `{"v":1,"chunks":0}`) }, "claims 0 chunks"},
		{"head from the future", func(s *storeKeychain) { s.put("work", `{"v":9,"chunks":1}`) }, "head version 9"},
		{"missing chunk", func(s *storeKeychain) { _ = s.Delete(DefaultService, chunkName("work", storedGen(s, "work"), 2)) }, "chunk 3 of 4 is missing"},
		{"changed chunk", func(s *storeKeychain) { s.put(chunkName("work", storedGen(s, "work"), 1), strings.Repeat("x", 2560)) }, "checksum"},
		{"long chunk", func(s *storeKeychain) { s.put(chunkName("work", storedGen(s, "work"), 3), strings.Repeat("x", 2560)) }, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newStoreKeychain()
			k := newTestKeychain(t, fake, 2560)
			if err := k.Save(t.Context(), "work", good); err != nil {
				t.Fatal(err)
			}
			tt.mangle(fake)
			_, err := k.Load(t.Context(), "work")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `account "work"`) {
				t.Errorf("Load() = %v; want ErrCorrupt naming the account and %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("Load() error %q quotes stored data", err)
			}
			// A corrupt account can still be replaced and deleted.
			if err := k.Save(t.Context(), "work", good); err != nil {
				t.Errorf("Save() over corrupt data = %v", err)
			}
			if err := k.Delete(t.Context(), "work"); err != nil {
				t.Errorf("Delete() = %v", err)
			}
		})
	}
}

// storedGen returns the chunk generation the head of user points at.
func storedGen(s *storeKeychain, user string) uint64 {
	h, _, _ := parseHead(s.value(user))
	return h.Gen
}

func TestKeychainListReadsNoSecrets(t *testing.T) {
	fake := newStoreKeychain()
	k := newTestKeychain(t, fake, 2560)
	ctx := t.Context()
	var want []string
	for i := range 150 {
		name := fmt.Sprintf("account-%03d@example.com", i)
		want = append(want, name)
		if err := k.Save(ctx, name, envelopeOfSize(name, 600)); err != nil {
			t.Fatalf("Save(%q) = %v", name, err)
		}
	}
	before := len(fake.readUsers())
	got, err := k.List(ctx)
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	for _, u := range fake.readUsers()[before:] {
		if !strings.HasPrefix(u, indexItem) {
			t.Errorf("List() read item %q; want only the index", u)
		}
	}
	for _, name := range want {
		if err := k.Delete(ctx, name); err != nil {
			t.Fatalf("Delete(%q) = %v", name, err)
		}
	}
	if left := fake.users(); len(left) != 0 {
		t.Errorf("after deleting every account the keychain holds %q", left)
	}
}

func TestKeychainCorruptIndex(t *testing.T) {
	fake := newStoreKeychain()
	k := newTestKeychain(t, fake, 0)
	fake.put(indexItem, "not json")
	if _, err := k.List(t.Context()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List() = %v; want ErrCorrupt", err)
	}
	if err := k.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatalf("Save() with a corrupt index = %v; want the index rebuilt", err)
	}
	if got, err := k.List(t.Context()); err != nil || !cmp.Equal(got, []string{"work"}) {
		t.Errorf("List() = %q, %v; want [work]", got, err)
	}
}

// TestKeychainReadRacesReplace has another writer replace the envelope
// between Load reading the head and reading the chunks.
func TestKeychainReadRacesReplace(t *testing.T) {
	store := newStoreKeychain()
	writer := newTestKeychain(t, store, 2560)
	first, second := envelopeOfSize("first", 9<<10), envelopeOfSize("second", 12<<10)
	if err := writer.Save(t.Context(), "work", first); err != nil {
		t.Fatal(err)
	}
	replaced := false
	hook := &hookKeychain{storeKeychain: store}
	hook.onGet = func(user string) {
		if strings.HasPrefix(user, "work#") && !replaced {
			replaced = true
			if err := writer.Save(t.Context(), "work", second); err != nil {
				t.Errorf("Save(second) = %v", err)
			}
		}
	}
	got, err := newTestKeychain(t, hook, 2560).Load(t.Context(), "work")
	if err != nil || !sameEnvelope(got, second) {
		t.Errorf("Load() racing a replace = %v, %v; want the second envelope", got, err)
	}
}

func TestSplitKeepsRunes(t *testing.T) {
	data := []byte(strings.Repeat("aé€😀", 100))
	for size := 4; size < 20; size++ {
		var joined []byte
		for _, c := range split(data, size) {
			if len(c) > size || len(c) == 0 {
				t.Fatalf("split(size %d) made a chunk of %d bytes", size, len(c))
			}
			if !utf8Valid(c) {
				t.Errorf("split(size %d) cut a rune: %q", size, c)
			}
			joined = append(joined, c...)
		}
		if string(joined) != string(data) {
			t.Errorf("split(size %d) lost data", size)
		}
	}
}

// TestKeychainReadKeepsRacing has writers replace the envelope during every
// lock-free read attempt; the last attempt reads under the shared lock.
func TestKeychainReadKeepsRacing(t *testing.T) {
	store := newStoreKeychain()
	lockDir := t.TempDir()
	writer := NewKeychain(KeychainOptions{ChunkSize: 2560, LockDir: lockDir, backend: store})
	if err := writer.Save(t.Context(), "work", envelopeOfSize("0", 9<<10)); err != nil {
		t.Fatal(err)
	}
	replacements := 0
	var last Envelope
	hook := &hookKeychain{storeKeychain: store}
	hook.onGet = func(user string) {
		if strings.HasPrefix(user, "work#") && replacements < readAttempts-1 {
			replacements++
			last = envelopeOfSize(fmt.Sprint(replacements), (9+replacements)<<10)
			if err := writer.Save(t.Context(), "work", last); err != nil {
				t.Errorf("Save() = %v", err)
			}
		}
	}
	reader := NewKeychain(KeychainOptions{ChunkSize: 2560, LockDir: lockDir, backend: hook})
	got, err := reader.Load(t.Context(), "work")
	if err != nil || !sameEnvelope(got, last) {
		t.Errorf("Load() = %v, %v; want the last envelope", got, err)
	}
	if replacements != readAttempts-1 {
		t.Errorf("%d replacements; want %d", replacements, readAttempts-1)
	}
}

// FuzzKeychainLoad stores arbitrary head and chunk items and checks that
// Load neither panics nor reports anything but a clean result or a
// classified error.
func FuzzKeychainLoad(f *testing.F) {
	f.Add(`{"v":1,"rt":"r"}`, "", "")
	f.Add(`{"v":1,"chunks":2,"gen":1,"len":10,"sha256":"`+strings.Repeat("0", 64)+`"}`, `{"v":1,"rt"`, `:"r"}`)
	f.Add(`{"v":1,"chunks":1,"gen":1,"len":0,"deleted":true}`, "", "")
	f.Add(`{"chunks":"x"}`, "", "")
	f.Fuzz(func(t *testing.T, headValue, chunk0, chunk1 string) {
		store := newStoreKeychain()
		store.put("work", headValue)
		store.put(chunkName("work", 1, 0), chunk0)
		store.put(chunkName("work", 1, 1), chunk1)
		k := NewKeychain(KeychainOptions{LockDir: t.TempDir(), backend: store})
		_, err := k.Load(t.Context(), "work")
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotFound) {
			t.Errorf("Load() = %v; want nil, ErrCorrupt or ErrNotFound", err)
		}
		if err := k.Delete(t.Context(), "work"); err != nil {
			t.Errorf("Delete() = %v", err)
		}
	})
}
