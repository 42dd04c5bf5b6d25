package main

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/godbus/dbus/v5"
)

// trayHostPresent reports whether a system tray can show tokentray's icon.
// On Linux that needs a StatusNotifierWatcher on the session bus (plain
// GNOME has none without the AppIndicator extension); macOS and Windows
// always have one.
func trayHostPresent() bool {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// Without an address godbus would autolaunch a stray dbus-daemon.
		if _, err := os.Stat(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "bus")); os.Getenv("XDG_RUNTIME_DIR") == "" || err != nil {
			return false
		}
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has); err != nil {
		return false
	}
	return has
}
