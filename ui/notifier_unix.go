//go:build !darwin && !windows

package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Send shows note through org.freedesktop.Notifications on the session bus.
// It never starts a bus: with no session bus it returns an error.
func (n Notifier) Send(note Note) error {
	addr, err := sessionBusAddress(os.Getenv, fileExists)
	if err != nil {
		return fmt.Errorf("send notification: %w", err)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return fmt.Errorf("send notification: connect to the session bus: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	hints := map[string]dbus.Variant{"desktop-entry": dbus.MakeVariant("tokentray")}
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		n.appName(), uint32(0), "", note.Title, escapeMarkup(note.Body), []string{}, hints, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("send notification: %w", call.Err)
	}
	return nil
}

// sessionBusAddress is the user's session bus: $DBUS_SESSION_BUS_ADDRESS, or
// the socket systemd puts at $XDG_RUNTIME_DIR/bus. Unlike godbus's
// SessionBus it never autolaunches a bus (that would outlive the keeper).
func sessionBusAddress(getenv func(string) string, exists func(string) bool) (string, error) {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		if p := filepath.Join(dir, "bus"); exists(p) {
			return "unix:path=" + p, nil
		}
	}
	return "", errors.New("no session bus: DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// escapeMarkup makes body safe for servers that read it as markup (the
// specification's "body-markup" capability).
var escapeMarkup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
