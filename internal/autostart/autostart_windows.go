//go:build windows

package autostart

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// valueName is the HKCU Run value.
const valueName = "tokentray"

// Path names the registry value that starts tokentray at login.
func Path() (string, error) { return `HKCU\` + runKey + `\` + valueName, nil }

func commandLine(e Entry) string {
	parts := []string{`"` + e.Exe + `"`}
	for _, a := range e.Args {
		if strings.ContainsAny(a, " \t\"") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Enable makes tokentray start at login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("autostart: open HKCU Run key: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(valueName, commandLine(e)); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// Disable removes the Run value; none is no error.
func Disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(valueName); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// Current reports the Run value.
func Current() (Status, error) {
	p, _ := Path()
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return Status{Where: p}, nil
		}
		return Status{Where: p}, fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue(valueName)
	if errors.Is(err, registry.ErrNotExist) {
		return Status{Where: p}, nil
	}
	if err != nil {
		return Status{Where: p}, fmt.Errorf("autostart: %w", err)
	}
	return Status{Enabled: true, Where: p, Command: v}, nil
}
