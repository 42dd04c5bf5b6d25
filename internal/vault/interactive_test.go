package vault

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestKeychainBackgroundNeverPrompts: with the keychain locked, background
// operations fail with ErrLocked without calling the keychain (whose calls
// would wait on an unlock prompt), while operations the user asked for
// are not checked and reach it.
func TestKeychainBackgroundNeverPrompts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prompting := &countingKeychain{storeKeychain: newStoreKeychain()}
		check := &lockCheck{locked: true}
		k := NewKeychain(KeychainOptions{ChunkSize: 2560, LockDir: t.TempDir(), backend: prompting, locked: check.check})
		ctx := t.Context()
		start := time.Now()
		ops := map[string]error{
			"Save":   k.Save(ctx, "work", fullEnvelope()),
			"Delete": k.Delete(ctx, "work"),
			"Probe":  k.Probe(ctx).Err,
		}
		_, ops["Load"] = k.Load(ctx, "work")
		_, ops["List"] = k.List(ctx)
		for name, err := range ops {
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "then Refresh now") {
				t.Errorf("background %s() on a locked keychain = %v; want ErrLocked saying what to do", name, err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("background operations took %v; want no wait", d)
		}
		if r := k.Probe(ctx); r.Status != ProbeLocked {
			t.Errorf("Probe() = %v; want locked", r.Status)
		}
		if got := len(prompting.readUsers()); got != 0 || prompting.writes != 0 {
			t.Errorf("background operations made %d reads and %d writes; want none", got, prompting.writes)
		}

		before := check.count()
		user := Interactive(ctx)
		if !IsInteractive(user) || IsInteractive(ctx) {
			t.Fatalf("IsInteractive: marked %v, plain %v", IsInteractive(user), IsInteractive(ctx))
		}
		e := fullEnvelope()
		if err := k.Save(user, "work", e); err != nil {
			t.Errorf("interactive Save() = %v", err)
		}
		if got, err := k.Load(user, "work"); err != nil || !sameEnvelope(got, e) {
			t.Errorf("interactive Load() = %v; want the envelope", err)
		}
		if n := check.count() - before; n != 0 {
			t.Errorf("interactive operations checked the lock %d times; want none", n)
		}

		check.locked = false
		if _, err := k.Load(ctx, "work"); err != nil {
			t.Errorf("background Load() once unlocked = %v", err)
		}
	})
}
