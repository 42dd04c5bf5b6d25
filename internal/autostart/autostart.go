// Package autostart owns tokentray's start-at-login entry: an XDG autostart
// desktop file on Linux, a LaunchAgent on macOS and an HKCU Run value on
// Windows.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Status says whether tokentray starts at login and where that is recorded.
type Status struct {
	Enabled bool   `json:"enabled"`
	Where   string `json:"where"`
	Command string `json:"command,omitempty"`
}

// Entry describes what to start.
type Entry struct {
	Exe  string   // absolute path of the tokentray binary
	Args []string // extra arguments, e.g. --set ui.start_minimized=true
}

func (e Entry) check() error {
	if !filepath.IsAbs(e.Exe) {
		return fmt.Errorf("autostart: executable path %q is not absolute", e.Exe)
	}
	return nil
}

// desktopEntry is the XDG autostart file content.
func desktopEntry(e Entry) string {
	var b strings.Builder
	b.WriteString("[Desktop Entry]\nType=Application\nName=tokentray\nComment=Keeps OAuth sign-ins alive\n")
	fmt.Fprintf(&b, "Exec=%s\n", execLine(e))
	b.WriteString("Icon=tokentray\nTerminal=false\nX-GNOME-Autostart-enabled=true\n")
	return b.String()
}

// execLine quotes per the Desktop Entry spec.
func execLine(e Entry) string {
	parts := []string{quoteExec(e.Exe)}
	for _, a := range e.Args {
		parts = append(parts, quoteExec(a))
	}
	return strings.Join(parts, " ")
}

func quoteExec(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\$`%") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\\\`, `"`, `\"`, "`", "\\`", `$`, `\$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// launchAgent is the macOS LaunchAgent plist content.
func launchAgent(e Entry) string {
	var args strings.Builder
	for _, a := range append([]string{e.Exe}, e.Args...) {
		fmt.Fprintf(&args, "\t\t<string>%s</string>\n", xmlEscape(a))
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + Label + `</string>
	<key>ProgramArguments</key>
	<array>
` + args.String() + `	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`
}

// Label is the macOS LaunchAgent label and the Windows Run value name base.
const Label = "io.github.tokentray"

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

func fileStatus(path string) (Status, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Status{Where: path}, nil
	}
	if err != nil {
		return Status{Where: path}, fmt.Errorf("autostart: %w", err)
	}
	st := Status{Enabled: true, Where: path}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Exec="); ok {
			st.Command = v
		}
		if strings.TrimSpace(line) == "X-GNOME-Autostart-enabled=false" || strings.TrimSpace(line) == "Hidden=true" {
			st.Enabled = false
		}
	}
	return st, nil
}
