package vault

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// storeKeychain is a working in-memory keychain. maxValue > 0 makes it
// refuse longer values like Windows and macOS do (a tooSmallKeychain).
type storeKeychain struct {
	mu       sync.Mutex
	items    map[string]string // key: service + "\x00" + user
	maxValue int
	gets     []string // users read, in order
}

func newStoreKeychain() *storeKeychain { return &storeKeychain{items: map[string]string{}} }

// tooSmallKeychain refuses values longer than limit bytes.
func tooSmallKeychain(limit int) *storeKeychain {
	s := newStoreKeychain()
	s.maxValue = limit
	return s
}

func (s *storeKeychain) Get(service, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets = append(s.gets, user)
	v, ok := s.items[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (s *storeKeychain) Set(service, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxValue > 0 && len(password) > s.maxValue {
		return keyring.ErrSetDataTooBig
	}
	s.items[service+"\x00"+user] = password
	return nil
}

func (s *storeKeychain) Delete(service, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := service + "\x00" + user
	if _, ok := s.items[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(s.items, k)
	return nil
}

// users returns the stored item names, sorted.
func (s *storeKeychain) users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range maps.Keys(s.items) {
		_, user, _ := strings.Cut(k, "\x00")
		out = append(out, user)
	}
	slices.Sort(out)
	return out
}

func (s *storeKeychain) value(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[DefaultService+"\x00"+user]
}

func (s *storeKeychain) put(user, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[DefaultService+"\x00"+user] = value
}

func (s *storeKeychain) readUsers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gets)
}

// lockedKeychain answers like go-keyring does when the Secret Service
// collection is locked and no prompt can be shown.
type lockedKeychain struct{}

var errCollectionLocked = errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")

func (lockedKeychain) Get(string, string) (string, error) { return "", errCollectionLocked }
func (lockedKeychain) Set(string, string, string) error   { return errCollectionLocked }
func (lockedKeychain) Delete(string, string) error        { return errCollectionLocked }

// noSecretService answers like D-Bus when no Secret Service is running.
type noSecretService struct{}

var errNoService = dbus.Error{
	Name: "org.freedesktop.DBus.Error.ServiceUnknown",
	Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"},
}

func (noSecretService) Get(string, string) (string, error) { return "", errNoService }
func (noSecretService) Set(string, string, string) error   { return errNoService }
func (noSecretService) Delete(string, string) error        { return errNoService }

// slowKeychain never answers until release is closed, like a Secret
// Service waiting for an unlock prompt nobody sees.
type slowKeychain struct {
	release chan struct{}
	started chan struct{}
}

func newSlowKeychain() *slowKeychain {
	return &slowKeychain{release: make(chan struct{}), started: make(chan struct{}, 64)}
}

func (s *slowKeychain) wait() error {
	s.started <- struct{}{}
	<-s.release
	return errors.New("answered too late")
}

func (s *slowKeychain) Get(string, string) (string, error) { return "", s.wait() }
func (s *slowKeychain) Set(string, string, string) error   { return s.wait() }
func (s *slowKeychain) Delete(string, string) error        { return s.wait() }

// failAfterN passes the first n writes (Set or Delete) to store and then
// fails every call, like a process that dies at that point.
type failAfterN struct {
	mu     sync.Mutex
	store  *storeKeychain
	n      int
	writes int
}

var errCrashed = errors.New("simulated crash")

func (f *failAfterN) dead() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes >= f.n
}

func (f *failAfterN) write() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writes >= f.n {
		return false
	}
	f.writes++
	return true
}

func (f *failAfterN) Get(service, user string) (string, error) {
	if f.dead() {
		return "", errCrashed
	}
	return f.store.Get(service, user)
}

func (f *failAfterN) Set(service, user, password string) error {
	if !f.write() {
		return errCrashed
	}
	return f.store.Set(service, user, password)
}

func (f *failAfterN) Delete(service, user string) error {
	if !f.write() {
		return errCrashed
	}
	return f.store.Delete(service, user)
}

// countingKeychain counts writes passed to store.
type countingKeychain struct {
	*storeKeychain
	mu     sync.Mutex
	writes int
}

func (c *countingKeychain) Set(service, user, password string) error {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.storeKeychain.Set(service, user, password)
}

func (c *countingKeychain) Delete(service, user string) error {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.storeKeychain.Delete(service, user)
}

// hookKeychain calls onGet before each Get reaches store.
type hookKeychain struct {
	*storeKeychain
	onGet func(user string)
}

func (h *hookKeychain) Get(service, user string) (string, error) {
	if h.onGet != nil {
		h.onGet(user)
	}
	return h.storeKeychain.Get(service, user)
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// lateKeychain passes calls to store, except that once armed, the next
// Set or Delete whose user matches blocks until land is called and then
// takes effect, like a Secret Service call that waited on an unlock prompt
// and completed long after the caller gave up.
type lateKeychain struct {
	*storeKeychain
	mu      sync.Mutex
	match   func(op, user string) bool
	release chan struct{}
	blocked chan string // users whose write is being held, as they block
}

func newLateKeychain() *lateKeychain {
	return &lateKeychain{storeKeychain: newStoreKeychain(), blocked: make(chan string, 16)}
}

// arm makes the next write matching match ("set" or "delete", and the
// user) block until land.
func (l *lateKeychain) arm(match func(op, user string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.match = match
	l.release = make(chan struct{})
}

// land lets the held write take effect and return.
func (l *lateKeychain) land() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.release)
}

func (l *lateKeychain) hold(op, user string) {
	l.mu.Lock()
	match, release := l.match, l.release
	if match == nil || !match(op, user) {
		l.mu.Unlock()
		return
	}
	l.match = nil
	l.mu.Unlock()
	l.blocked <- user
	<-release
}

func (l *lateKeychain) Set(service, user, password string) error {
	l.hold("set", user)
	return l.storeKeychain.Set(service, user, password)
}

func (l *lateKeychain) Delete(service, user string) error {
	l.hold("delete", user)
	return l.storeKeychain.Delete(service, user)
}

// lockCheck is a fake of the Secret Service lock check: it answers
// locked and counts how often it was asked.
type lockCheck struct {
	mu     sync.Mutex
	locked bool
	calls  int
}

func (c *lockCheck) check(context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.locked, nil
}

func (c *lockCheck) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// brokenDeletes refuses to delete chunk items while broken is set, like a
// keychain that fails every cleanup call.
type brokenDeletes struct {
	*storeKeychain
	mu     sync.Mutex
	broken bool
}

func (b *brokenDeletes) setBroken(v bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.broken = v
}

func (b *brokenDeletes) Delete(service, user string) error {
	b.mu.Lock()
	broken := b.broken
	b.mu.Unlock()
	if broken && strings.Contains(user, "#") && !strings.HasSuffix(user, "#journal") {
		return errors.New("simulated cleanup failure")
	}
	return b.storeKeychain.Delete(service, user)
}
