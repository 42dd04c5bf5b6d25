package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"
)

// The integration tests use the real Secret Service of the session bus.
// Run them inside dbus-run-session with an unlocked gnome-keyring (see the
// Makefile target) and TOKENTRAY_KEYRING_TEST=1.

const keyringTestEnv = "TOKENTRAY_KEYRING_TEST"

func requireKeyring(tb testing.TB) {
	tb.Helper()
	if os.Getenv(keyringTestEnv) == "1" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true but %s is not 1: CI must run the keychain tests against a real Secret Service", keyringTestEnv)
	}
	tb.Skipf("set %s=1 inside dbus-run-session with an unlocked gnome-keyring to run against the real Secret Service", keyringTestEnv)
}

// secretItems lists the username attribute of every item of service in the
// default collection, straight over D-Bus.
func secretItems(t *testing.T, service string) []string {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("connect session bus: %v", err)
	}
	defer conn.Close()
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0, map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		t.Fatalf("search items: %v", err)
	}
	var users []string
	for _, p := range slices.Concat(unlocked, locked) {
		v, err := conn.Object("org.freedesktop.secrets", p).GetProperty("org.freedesktop.Secret.Item.Attributes")
		if err != nil {
			t.Fatalf("item attributes: %v", err)
		}
		attrs, _ := v.Value().(map[string]string)
		users = append(users, attrs["username"])
	}
	slices.Sort(users)
	return users
}

func integrationKeychain(t testing.TB, service string, chunk int) *Keychain {
	return NewKeychain(KeychainOptions{Service: service, ChunkSize: chunk, LockDir: t.TempDir(), Timeout: 10 * time.Second})
}

func TestIntegrationSetGetReplaceDelete(t *testing.T) {
	requireKeyring(t)
	ctx := t.Context()
	k := integrationKeychain(t, DefaultService, 0)
	if r := k.Probe(ctx); r.Status != ProbeOK {
		t.Fatalf("Probe() = %+v; want ok", r)
	}
	t.Cleanup(func() { _ = k.Delete(context.Background(), "it-work") })
	first, second := envelopeOfSize("first", 1000), envelopeOfSize("second", 40<<10)
	for _, e := range []Envelope{first, second, first} {
		if err := k.Save(ctx, "it-work", e); err != nil {
			t.Fatalf("Save() = %v", err)
		}
		got, err := k.Load(ctx, "it-work")
		if err != nil || !sameEnvelope(got, e) {
			t.Fatalf("Load() = %v, %v; want the saved envelope", got, err)
		}
	}
	if got := secretItems(t, DefaultService); !slices.Contains(got, "it-work") || !slices.Contains(got, indexItem) {
		t.Errorf("Secret Service items %q; want it-work and the index", got)
	}
	if path, err := exec.LookPath("secret-tool"); err == nil {
		// Its output holds the secrets: check it, never log it.
		out, err := exec.CommandContext(ctx, path, "search", "--all", "service", DefaultService).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "attribute.username = it-work") {
			t.Errorf("secret-tool search service %s: %v; want an item for it-work", DefaultService, err)
		}
	}
	if err := k.Delete(ctx, "it-work"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if _, err := k.Load(ctx, "it-work"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load() after Delete = %v; want ErrNotFound", err)
	}
	for _, u := range secretItems(t, DefaultService) {
		if strings.HasPrefix(u, "it-work") || u == probeItem {
			t.Errorf("item %q remains after Delete", u)
		}
	}
}

func TestIntegrationWindowsChunks(t *testing.T) {
	requireKeyring(t)
	ctx := t.Context()
	const service = "tokentray-it-chunks"
	chunk := DefaultChunkSize("windows")
	k := integrationKeychain(t, service, chunk)
	e := envelopeOfSize("big", 16<<10)
	if err := k.Save(ctx, "work", e); err != nil {
		t.Fatalf("Save(16 KiB) = %v", err)
	}
	got, err := k.Load(ctx, "work")
	if err != nil || !sameEnvelope(got, e) {
		t.Fatalf("Load() = %v, %v; want the 16 KiB envelope", got, err)
	}
	items := secretItems(t, service)
	if len(items) < 8 {
		t.Errorf("16 KiB in %d-byte chunks made items %q; want a head and at least 7 chunks", chunk, items)
	}
	for _, u := range items {
		v, err := keyring.Get(service, u)
		if err != nil {
			t.Fatalf("keyring.Get(%q) = %v", u, err)
		}
		if len(v) > chunk {
			t.Errorf("item %q holds %d bytes; want at most %d", u, len(v), chunk)
		}
	}
	if err := k.Delete(ctx, "work"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if left := secretItems(t, service); len(left) != 0 {
		t.Errorf("after Delete the Secret Service holds %q; want nothing", left)
	}
}

func TestIntegrationHundredAccounts(t *testing.T) {
	requireKeyring(t)
	ctx := t.Context()
	const service = "tokentray-it-many"
	k := integrationKeychain(t, service, 0)
	var want []string
	for i := range 100 {
		name := fmt.Sprintf("user%03d@example.com", i)
		want = append(want, name)
		if err := k.Save(ctx, name, envelopeOfSize(name, 3000)); err != nil {
			t.Fatalf("Save(%q) = %v", name, err)
		}
	}
	got, err := k.List(ctx)
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	for _, name := range want {
		if e, err := k.Load(ctx, name); err != nil || e.RefreshToken != "rt-"+name {
			t.Errorf("Load(%q) = %v; want its envelope", name, err)
		}
	}
	for _, name := range want {
		if err := k.Delete(ctx, name); err != nil {
			t.Fatalf("Delete(%q) = %v", name, err)
		}
	}
	if left := secretItems(t, service); len(left) != 0 {
		t.Errorf("after deleting every account the Secret Service holds %q", left)
	}
}

const (
	helperEnv        = "TOKENTRAY_VAULT_HELPER"
	helperWriterEnv  = "TOKENTRAY_VAULT_WRITER"
	helperLockDirEnv = "TOKENTRAY_VAULT_LOCKDIR"
	raceService      = "tokentray-it-race"
	raceWrites       = 15
)

// raceEnvelope is writer w's i-th envelope; its access token is derived
// from its refresh token so that a mix of two envelopes shows.
func raceEnvelope(w string, i int) Envelope {
	rt := fmt.Sprintf("rt-%s-%d", w, i)
	e := fullEnvelope()
	e.RefreshToken = rt
	e.AccessToken = strings.Repeat(rt+".", (8<<10+i*700)/(len(rt)+1))
	return e
}

func wholeRaceEnvelope(e Envelope) bool {
	var w string
	var i int
	if _, err := fmt.Sscanf(strings.ReplaceAll(e.RefreshToken, "-", " "), "rt %s %d", &w, &i); err != nil {
		return false
	}
	return sameEnvelope(e, raceEnvelope(w, i))
}

// TestHelperProcess is a writer process for TestIntegrationTwoProcesses.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "writer" {
		return
	}
	w := os.Getenv(helperWriterEnv)
	k := NewKeychain(KeychainOptions{Service: raceService, ChunkSize: DefaultChunkSize("windows"), LockDir: os.Getenv(helperLockDirEnv), Timeout: 10 * time.Second})
	for i := range raceWrites {
		if err := k.Save(t.Context(), "shared", raceEnvelope(w, i)); err != nil {
			t.Fatalf("writer %s: Save(#%d) = %v", w, i, err)
		}
	}
}

func TestIntegrationTwoProcesses(t *testing.T) {
	requireKeyring(t)
	lockDir := t.TempDir()
	k := NewKeychain(KeychainOptions{Service: raceService, ChunkSize: DefaultChunkSize("windows"), LockDir: lockDir, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = k.Delete(context.Background(), "shared") })

	var wg sync.WaitGroup
	for _, w := range []string{"a", "b"} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", helperWriterEnv+"="+w, helperLockDirEnv+"="+lockDir)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("writer %s: %v\n%s", w, err, out)
			}
		})
	}
	// Read while they write: every envelope read is whole.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	reads := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		e, err := k.Load(t.Context(), "shared")
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			t.Errorf("Load() during writes = %v", err)
		case !wholeRaceEnvelope(e):
			t.Errorf("Load() during writes returned a mix: %v", e)
		default:
			reads++
		}
	}
	e, err := k.Load(t.Context(), "shared")
	if err != nil || !wholeRaceEnvelope(e) {
		t.Fatalf("Load() after writes = %v, %v; want one whole envelope", e, err)
	}
	if last := []string{fmt.Sprintf("rt-a-%d", raceWrites-1), fmt.Sprintf("rt-b-%d", raceWrites-1)}; !slices.Contains(last, e.RefreshToken) {
		t.Errorf("final envelope is %q; want a writer's last one %q", e.RefreshToken, last)
	}
	data, _ := Encode(e)
	if got, want := len(secretItems(t, raceService)), 2+len(split(data, DefaultChunkSize("windows"))); got != want {
		t.Errorf("Secret Service holds %d items %q; want %d (head, index, chunks)", got, secretItems(t, raceService), want)
	}
	t.Logf("%d whole reads during the concurrent writes", reads)
}

// TestIntegrationLockedCollection locks the default collection over D-Bus;
// with no display for an unlock prompt, Load must fail quickly.
func TestIntegrationLockedCollection(t *testing.T) {
	requireKeyring(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("connect session bus: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var coll dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll); err != nil || coll == "/" {
		t.Fatalf("read default alias = %q, %v", coll, err)
	}
	k := integrationKeychain(t, "tokentray-it-locked", 0)
	k.timeout = 2 * time.Second
	if err := k.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatalf("Save() before locking = %v", err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{coll}).Store(&locked, &prompt); err != nil {
		t.Fatalf("lock collection: %v", err)
	}
	t.Cleanup(func() { unlockCollection(t, conn, coll) })

	start := time.Now()
	_, err = k.Load(t.Context(), "work")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrLocked) && !errors.Is(err, ErrTimeout) {
		t.Errorf("Load() from a locked collection = %v; want ErrLocked or ErrTimeout", err)
	}
	if elapsed > k.timeout+time.Second {
		t.Errorf("Load() from a locked collection took %v; want at most %v", elapsed, k.timeout)
	}
	t.Logf("Load() from a locked collection: %v after %v", err, elapsed.Round(time.Millisecond))
	if r := k.Probe(t.Context()); r.Status != ProbeLocked && r.Status != ProbeTimeout {
		t.Errorf("Probe() on a locked collection = %+v; want locked or timeout", r)
	}
}

// unlockCollection unlocks coll again through gnome-keyring's own
// interface, with the password the session was started with.
func unlockCollection(t *testing.T, conn *dbus.Conn, coll dbus.ObjectPath) {
	password := os.Getenv("TOKENTRAY_KEYRING_PASSWORD")
	if password == "" {
		password = "pw"
	}
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Errorf("open session to unlock: %v", err)
		return
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(password), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, coll, secret).Err; err != nil {
		t.Errorf("unlock collection again: %v", err)
		return
	}
	k := integrationKeychain(t, "tokentray-it-locked", 0)
	if err := k.Delete(context.Background(), "work"); err != nil {
		t.Errorf("Delete() after unlocking = %v", err)
	}
}

func BenchmarkKeychainSaveLoad(b *testing.B) {
	requireKeyring(b)
	for _, bc := range []struct {
		name  string
		chunk int
		size  int
	}{
		{"inline-4KiB", 0, 4 << 10},
		{"windows-chunks-16KiB", DefaultChunkSize("windows"), 16 << 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			k := integrationKeychain(b, "tokentray-bench", bc.chunk)
			b.Cleanup(func() { _ = k.Delete(context.Background(), "bench") })
			benchSaveLoad(b, k, envelopeOfSize("bench", bc.size))
		})
	}
}

func BenchmarkMemorySaveLoad(b *testing.B) {
	benchSaveLoad(b, NewMemory(), envelopeOfSize("bench", 4<<10))
}

func benchSaveLoad(b *testing.B, s store, e Envelope) {
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		e.RefreshToken = "rt-" + strconv.Itoa(i)
		if err := s.Save(ctx, "bench", e); err != nil {
			b.Fatalf("Save() = %v", err)
		}
		if _, err := s.Load(ctx, "bench"); err != nil {
			b.Fatalf("Load() = %v", err)
		}
	}
}

// TestIntegrationBackgroundDoesNotPrompt locks the default collection
// over D-Bus with a (bogus) display set, as on a desktop where an unlock
// prompt would appear and wait: background Load and Save fail with
// ErrLocked at once, without calling go-keyring; an interactive operation
// skips the check.
func TestIntegrationBackgroundDoesNotPrompt(t *testing.T) {
	requireKeyring(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("connect session bus: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var coll dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll); err != nil || coll == "/" {
		t.Fatalf("read default alias = %q, %v", coll, err)
	}
	k := integrationKeychain(t, "tokentray-it-background", 0)
	k.timeout = 2 * time.Second
	if locked, err := k.locked(t.Context()); err != nil || locked {
		t.Fatalf("lock check on an unlocked collection = %v, %v; want false", locked, err)
	}
	if err := k.Save(t.Context(), "work", fullEnvelope()); err != nil {
		t.Fatalf("Save() before locking = %v", err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{coll}).Store(&locked, &prompt); err != nil {
		t.Fatalf("lock collection: %v", err)
	}
	t.Cleanup(func() {
		unlockCollection(t, conn, coll)
		_ = integrationKeychain(t, "tokentray-it-background", 0).Delete(context.Background(), "work")
	})
	t.Setenv("DISPLAY", ":99")

	// Count what reaches go-keyring and how often the check runs.
	calls := &countingKeychain{storeKeychain: newStoreKeychain()}
	check := k.locked
	var checks int
	k.locked = func(ctx context.Context) (bool, error) { checks++; return check(ctx) }
	k.be = calls
	start := time.Now()
	_, loadErr := k.Load(t.Context(), "work")
	saveErr := k.Save(t.Context(), "work", fullEnvelope())
	elapsed := time.Since(start)
	for name, err := range map[string]error{"Load": loadErr, "Save": saveErr} {
		if !errors.Is(err, ErrLocked) {
			t.Errorf("background %s() on a locked collection = %v; want ErrLocked", name, err)
		}
	}
	if elapsed > time.Second {
		t.Errorf("background Load and Save on a locked collection took %v; want well under the %v timeout", elapsed, k.timeout)
	}
	if n := len(calls.readUsers()) + calls.writes; n != 0 {
		t.Errorf("background operations on a locked collection made %d keychain calls; want none", n)
	}
	t.Logf("background Load+Save on a locked collection: %v after %v (%d checks)", loadErr, elapsed.Round(time.Microsecond), checks)

	checks = 0
	_, _ = k.Load(Interactive(t.Context()), "work")
	if checks != 0 {
		t.Errorf("interactive Load() ran the lock check %d times; want none", checks)
	}
	if len(calls.readUsers()) == 0 {
		t.Errorf("interactive Load() did not reach the keychain")
	}
}
