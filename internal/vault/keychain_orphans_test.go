package vault

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeychainSweepsOrphansAfterRepeatedCleanupFailures: when removing the
// replaced chunks fails on several Saves in a row, the next Save that can
// delete removes every orphaned generation.
func TestKeychainSweepsOrphansAfterRepeatedCleanupFailures(t *testing.T) {
	for _, failures := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(failures), func(t *testing.T) {
			be := &brokenDeletes{storeKeychain: newStoreKeychain()}
			k := newTestKeychain(t, be, 2560)
			ctx := t.Context()
			if err := k.Save(ctx, "work", envelopeOfSize("first", 8<<10)); err != nil {
				t.Fatal(err)
			}
			be.setBroken(true)
			for i := range failures {
				if err := k.Save(ctx, "work", envelopeOfSize(fmt.Sprint(i), 8<<10)); err != nil {
					t.Fatalf("Save() with failing cleanup = %v; want nil (the new envelope is committed)", err)
				}
			}
			be.setBroken(false)
			last := envelopeOfSize("last", 8<<10)
			if err := k.Save(ctx, "work", last); err != nil {
				t.Fatal(err)
			}
			if got, err := k.Load(ctx, "work"); err != nil || !sameEnvelope(got, last) {
				t.Fatalf("Load() = %v; want the last envelope", err)
			}
			var chunks []string
			for _, u := range be.users() {
				if strings.HasPrefix(u, "work#") {
					chunks = append(chunks, u)
				}
			}
			data, _ := Encode(last)
			if want := len(split(data, 2560)); len(chunks) != want {
				t.Errorf("after %d failed cleanups and a good Save the keychain holds %d chunk items %q; want %d", failures, len(chunks), chunks, want)
			}
		})
	}
}
