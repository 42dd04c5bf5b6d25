//go:build !linux

package vault

// platformClass has no platform-specific knowledge outside Linux.
func platformClass(error) error { return nil }

// sessionBusMissing is a Linux concern.
func sessionBusMissing() error { return nil }
