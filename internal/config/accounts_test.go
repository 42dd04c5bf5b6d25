package config

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"
)

func testAccount(name string) Account {
	return Account{Name: name, Provider: "microsoft", Tenant: "common", ClientID: "11111111-2222-3333-4444-555555555555"}
}

func accountNames(t *testing.T, path string) []string {
	t.Helper()
	s, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile(%q) = %v", path, err)
	}
	var names []string
	for _, a := range s.Accounts {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

func TestAddAccountCreatesFileAndKeepsOtherKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.yaml")
	if err := AddAccount(path, testAccount("first")); err != nil {
		t.Fatalf("AddAccount on a missing file = %v; want nil", err)
	}
	if _, err := Set(path, "refresh.interval_hours", "7"); err != nil {
		t.Fatal(err)
	}
	if err := AddAccount(path, testAccount("second")); err != nil {
		t.Fatal(err)
	}
	s, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Refresh.IntervalHours != 7 {
		t.Errorf("refresh.interval_hours = %d after AddAccount; want 7 (kept)", s.Refresh.IntervalHours)
	}
	want := []Account{testAccount("first"), testAccount("second")}
	if d := cmp.Diff(want, s.Accounts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	if err := RemoveAccount(path, "first"); err != nil {
		t.Fatal(err)
	}
	s, err = ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Refresh.IntervalHours != 7 {
		t.Errorf("refresh.interval_hours = %d after RemoveAccount; want 7 (kept)", s.Refresh.IntervalHours)
	}
	if d := cmp.Diff([]Account{testAccount("second")}, s.Accounts); d != "" {
		t.Errorf("accounts after remove (-want +got):\n%s", d)
	}
}

func TestAddAccountRefusesDuplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := AddAccount(path, testAccount("work")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	dup := testAccount("work")
	dup.ClientID = "66666666-7777-8888-9999-000000000000"
	err := AddAccount(path, dup)
	if !errors.Is(err, ErrAccountExists) {
		t.Fatalf("AddAccount(duplicate) = %v; want an error wrapping ErrAccountExists", err)
	}
	if !strings.Contains(err.Error(), `"work"`) {
		t.Errorf("AddAccount(duplicate) = %q; want the name \"work\" in it", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Errorf("file changed after a refused duplicate")
	}
}

func TestAddAccountRefusesInvalidNamingKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	for _, tc := range []struct {
		name string
		a    Account
		key  string
	}{
		{"no client id", Account{Name: "a", Provider: "microsoft"}, "client_id"},
		{"bad provider", Account{Name: "a", Provider: "google", ClientID: "x"}, "provider"},
		{"bad name", Account{Name: "a b", Provider: "microsoft", ClientID: "11111111-2222-3333-4444-555555555555"}, "name"},
		{"oidc without issuer", Account{Name: "a", Provider: "oidc", ClientID: "x"}, "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := AddAccount(path, tc.a)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("AddAccount(%+v) = %v; want a *ValidationError", tc.a, err)
			}
			if ve.Problems[0].Key != tc.key || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("AddAccount(%+v) = %q; want it to name key %s", tc.a, err, tc.key)
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("file written after a refused account")
			}
		})
	}
}

func TestRemoveAccountUnknownNamesConfigured(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	err := RemoveAccount(path, "ghost")
	if !errors.Is(err, ErrNoAccount) || !strings.Contains(err.Error(), "none") {
		t.Errorf("RemoveAccount on an empty file = %v; want ErrNoAccount naming none", err)
	}
	for _, n := range []string{"alpha", "beta"} {
		if err := AddAccount(path, testAccount(n)); err != nil {
			t.Fatal(err)
		}
	}
	err = RemoveAccount(path, "ghost")
	if !errors.Is(err, ErrNoAccount) {
		t.Fatalf("RemoveAccount(ghost) = %v; want an error wrapping ErrNoAccount", err)
	}
	for _, want := range []string{`"ghost"`, "alpha", "beta"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("RemoveAccount(ghost) = %q; want %s in it", err, want)
		}
	}
}

func TestAddAccountTimesOutOnHeldLock(t *testing.T) {
	defer func(w time.Duration) { fileLockWait = w }(fileLockWait)
	fileLockWait = 50 * time.Millisecond
	path := filepath.Join(t.TempDir(), "config.yaml")
	held := flock.New(path + ".lock")
	if ok, err := held.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	defer held.Unlock()
	err := AddAccount(path, testAccount("x"))
	if err == nil || !strings.Contains(err.Error(), "settings lock") || !strings.Contains(err.Error(), path+".lock") {
		t.Errorf("AddAccount with the lock held = %v; want a timeout naming the lock file", err)
	}
}

func TestAddAccountConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var want []string
	for i := range n {
		name := fmt.Sprintf("g%02d", i)
		want = append(want, name)
		wg.Go(func() { errs <- AddAccount(path, testAccount(name)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("AddAccount = %v", err)
		}
	}
	if d := cmp.Diff(want, accountNames(t, path)); d != "" {
		t.Errorf("accounts after concurrent adds (-want +got):\n%s", d)
	}
}

func TestRemoveAccountRacesAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	const n = 8
	for i := range n {
		if err := AddAccount(path, testAccount(fmt.Sprintf("old%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	var want []string
	for i := range n {
		name := fmt.Sprintf("new%d", i)
		want = append(want, name)
		wg.Go(func() { errs <- AddAccount(path, testAccount(name)) })
		wg.Go(func() { errs <- RemoveAccount(path, fmt.Sprintf("old%d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent add/remove = %v", err)
		}
	}
	if d := cmp.Diff(want, accountNames(t, path)); d != "" {
		t.Errorf("accounts after add/remove race (-want +got):\n%s", d)
	}
}

// TestAddAccountConcurrentProcesses re-executes the test binary several
// times; each child adds its own accounts to one file at the same time.
func TestAddAccountConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	const procs, each = 4, 5
	cmds := make([]*exec.Cmd, procs)
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAddAccounts$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"TOKENTRAY_TEST_ADD_PATH="+path,
			"TOKENTRAY_TEST_ADD_PREFIX=p"+strconv.Itoa(p),
			"TOKENTRAY_TEST_ADD_COUNT="+strconv.Itoa(each))
		cmds[p] = cmd
	}
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for p, cmd := range cmds {
		wg.Go(func() { outs[p], errs[p] = cmd.CombinedOutput() })
	}
	wg.Wait()
	for p := range procs {
		if errs[p] != nil {
			t.Errorf("child %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	var want []string
	for p := range procs {
		for i := range each {
			want = append(want, fmt.Sprintf("p%d-%d", p, i))
		}
	}
	sort.Strings(want)
	if d := cmp.Diff(want, accountNames(t, path)); d != "" {
		t.Errorf("accounts after concurrent processes (-want +got):\n%s", d)
	}
}

// TestHelperAddAccounts is the child of TestAddAccountConcurrentProcesses;
// it does nothing in a normal run.
func TestHelperAddAccounts(t *testing.T) {
	path := os.Getenv("TOKENTRAY_TEST_ADD_PATH")
	if path == "" {
		t.Skip("helper process only")
	}
	n, _ := strconv.Atoi(os.Getenv("TOKENTRAY_TEST_ADD_COUNT"))
	prefix := os.Getenv("TOKENTRAY_TEST_ADD_PREFIX")
	for i := range n {
		if err := AddAccount(path, testAccount(fmt.Sprintf("%s-%d", prefix, i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSetRacesAddAccount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	var want []string
	for i := range n {
		name := fmt.Sprintf("a%d", i)
		want = append(want, name)
		wg.Go(func() { errs <- AddAccount(path, testAccount(name)) })
		wg.Go(func() { _, err := Set(path, "refresh.interval_hours", strconv.Itoa(i+1)); errs <- err })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Set/AddAccount = %v", err)
		}
	}
	if d := cmp.Diff(want, accountNames(t, path)); d != "" {
		t.Errorf("accounts after racing Set (-want +got):\n%s", d)
	}
}

func TestUpdateWritesNothingOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := AddAccount(path, testAccount("keep")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	stop := errors.New("changed my mind")
	if err := Update(path, func(s *Settings) error { s.Accounts = nil; return stop }); !errors.Is(err, stop) {
		t.Errorf("Update with a failing change = %v; want its error", err)
	}
	err := Update(path, func(s *Settings) error { s.Refresh.IntervalHours = 99; return nil })
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "refresh.interval_hours") {
		t.Errorf("Update to an invalid value = %v; want a *ValidationError naming refresh.interval_hours", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Errorf("file changed after a failed Update")
	}
}
