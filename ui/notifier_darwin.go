package ui

import (
	"context"
	"fmt"
	"os/exec"
)

// Send shows note with osascript's "display notification". Title and body
// are passed as arguments of the script, never spliced into its text.
func (n Notifier) Send(note Note) error {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	title := note.Title
	if title == "" {
		title = n.appName()
	}
	out, err := exec.CommandContext(ctx, "/usr/bin/osascript",
		"-e", "on run argv",
		"-e", "display notification (item 2 of argv) with title (item 1 of argv)",
		"-e", "end run",
		title, note.Body).CombinedOutput()
	if err != nil {
		return fmt.Errorf("send notification: osascript: %w: %s", err, out)
	}
	return nil
}
