package autostart

import (
	"os"
	"path/filepath"
	"runtime"
)

// Apply makes the login entry match the autostart setting (the settings
// window's "Start at login"): it writes LoginEntry when on and there is
// none, removes the entry when off. An entry already as asked is left as it
// is.
func Apply(on bool) error {
	cur, err := Current()
	if err != nil {
		return err
	}
	if cur.Enabled == on {
		return nil
	}
	if !on {
		return Disable()
	}
	e, err := LoginEntry()
	if err != nil {
		return err
	}
	return Enable(e)
}

// LoginEntry is what starts the keeper at login: this program. On Windows
// that is the window program with --start-keeper when it sits next to this
// one: a GUI-subsystem program that starts tokentray.exe (a console
// program, so `tokentray token` prints to the terminal that ran it) without
// a console window, and exits.
func LoginEntry() (Entry, error) {
	exe, err := os.Executable()
	if err != nil {
		return Entry{}, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return Entry{}, err
	}
	if runtime.GOOS == "windows" {
		w := filepath.Join(filepath.Dir(exe), "tokentray-window.exe")
		if _, err := os.Stat(w); err == nil {
			return Entry{Exe: w, Args: []string{"--start-keeper"}}, nil
		}
	}
	return Entry{Exe: exe}, nil
}
