package vault

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/godbus/dbus/v5"
)

// itemPath matches a Secret Service item's object path.
var itemPath = regexp.MustCompile(`/org/freedesktop/secrets/collection/[^/\s”"]+/[^/\s”"]+`)

// platformClass recognises Secret Service errors by their D-Bus names.
func platformClass(err error) error {
	var name string
	var v dbus.Error
	var p *dbus.Error
	switch {
	case errors.As(err, &p):
		name = p.Name
	case errors.As(err, &v):
		name = v.Name
	default:
		if strings.Contains(err.Error(), "session bus") || strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS") {
			return newClassError(ErrUnavailable, err, "no D-Bus session bus, so no Secret Service (log in to a desktop session, or choose the file store: tokentray config set storage.backend file)")
		}
		return nil
	}
	switch name {
	case "org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownInterface":
		// gnome-keyring answers so when an item was deleted between
		// go-keyring finding it and reading it.
		if itemPath.MatchString(err.Error()) {
			return ErrNotFound
		}
	case "org.freedesktop.Secret.Error.NoSuchObject":
		return ErrNotFound
	case "org.freedesktop.Secret.Error.IsLocked":
		return newClassError(ErrLocked, err, "keychain is locked: unlock it (for example by logging in to the desktop) and retry")
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
		return newClassError(ErrUnavailable, err, "no Secret Service is running (install and start gnome-keyring or KeePassXC)")
	case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout":
		return newClassError(ErrTimeout, err, "keychain did not answer")
	}
	return newClassError(ErrUnavailable, err, "keychain unavailable")
}

// sessionBusMissing reports, without connecting, that no D-Bus session bus
// can be found: DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus
// does not exist. The D-Bus library would then autolaunch a private
// dbus-daemon that outlives tokentray and holds no keychain anyway.
func sessionBusMissing() error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if rd := os.Getenv("XDG_RUNTIME_DIR"); rd != "" {
		if _, err := os.Stat(filepath.Join(rd, "bus")); err == nil {
			return nil
		}
	}
	return errors.New("DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist")
}
