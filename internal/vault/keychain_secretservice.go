//go:build linux || freebsd || openbsd || netbsd || dragonfly

package vault

import (
	"context"
	"slices"

	"github.com/godbus/dbus/v5"
)

const (
	secretsName        = "org.freedesktop.secrets"
	secretsPath        = dbus.ObjectPath("/org/freedesktop/secrets")
	loginCollection    = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	defaultCollection  = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")
	propertiesGet      = "org.freedesktop.DBus.Properties.Get"
	secretService      = "org.freedesktop.Secret.Service"
	secretCollectionIf = "org.freedesktop.Secret.Collection"
)

// secretServiceLocked reports whether the collection go-keyring uses (the
// "login" collection if there is one, else the default alias) is locked.
// It only reads properties: nothing is unlocked and no prompt is shown.
// Without a session bus it reports false and leaves the error to the
// backend, which does not autolaunch a D-Bus daemon either.
func secretServiceLocked(ctx context.Context) (bool, error) {
	if sessionBusMissing() != nil {
		return false, nil
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return false, err
	}
	var v dbus.Variant
	if err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, propertiesGet, 0, secretService, "Collections").Store(&v); err != nil {
		return false, err
	}
	coll := defaultCollection
	if paths, _ := v.Value().([]dbus.ObjectPath); slices.Contains(paths, loginCollection) {
		coll = loginCollection
	}
	if err := conn.Object(secretsName, coll).CallWithContext(ctx, propertiesGet, 0, secretCollectionIf, "Locked").Store(&v); err != nil {
		return false, err
	}
	locked, _ := v.Value().(bool)
	return locked, nil
}
