// The keychain primitive under Keychain: one secret string per (service,
// user) through go-keyring, or an answer saying why no keychain is reachable.

package vault

import "github.com/zalando/go-keyring"

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
