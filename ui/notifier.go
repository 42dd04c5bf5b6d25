package ui

import "time"

// Notifier sends desktop notifications without a GUI toolkit: over D-Bus
// (org.freedesktop.Notifications) on Linux and the BSDs, with osascript on
// macOS and a PowerShell toast on Windows. The zero value is ready.
type Notifier struct {
	// AppName is the sender the notification server shows; "" means
	// "tokentray".
	AppName string
}

// notifyTimeout bounds one notification: a hung notification server must
// not hold up the keeper.
const notifyTimeout = 5 * time.Second

func (n Notifier) appName() string {
	if n.AppName == "" {
		return "tokentray"
	}
	return n.AppName
}
