//go:build !windows

package autostart

// Enable makes tokentray start at login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	p, err := Path()
	if err != nil {
		return err
	}
	return writeFile(p, entryContent(e))
}

// Disable removes the login entry; none is no error.
func Disable() error {
	p, err := Path()
	if err != nil {
		return err
	}
	return removeFile(p)
}

// Current reports the login entry.
func Current() (Status, error) {
	p, err := Path()
	if err != nil {
		return Status{}, err
	}
	return fileStatus(p)
}
