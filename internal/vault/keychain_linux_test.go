package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestClassifySecretServiceErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"vanished item", dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod", Body: []any{"Object does not exist at path “/org/freedesktop/secrets/collection/login/129”"}}, ErrNotFound},
		{"vanished item interface", &dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod", Body: []any{"No such interface “org.freedesktop.Secret.Item” on object at path /org/freedesktop/secrets/collection/login/136"}}, ErrNotFound},
		{"unknown method elsewhere", dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownMethod", Body: []any{"No such method on /org/freedesktop/secrets"}}, ErrUnavailable},
		{"is locked", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"Cannot get secret of a locked object"}}, ErrLocked},
		{"no service", errNoService, ErrUnavailable},
		{"no reply", dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, ErrTimeout},
		{"go-keyring locked", errCollectionLocked, ErrLocked},
		{"no session bus", errors.New("dbus: couldn't determine address of session bus"), ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); !errors.Is(got, tt.want) {
				t.Errorf("classify(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestKeychainWithoutSessionBusIsUnavailable(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	k := NewKeychain(KeychainOptions{LockDir: t.TempDir()})
	_, err := k.Load(t.Context(), "work")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Load() without a session bus = %v; want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "storage.backend file") {
		t.Errorf("error %q does not say how to fix it", err)
	}
	if p := k.Probe(t.Context()); p.Status != ProbeUnavailable {
		t.Errorf("Probe() = %v; want unavailable", p.Status)
	}
}
