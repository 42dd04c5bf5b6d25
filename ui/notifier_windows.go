package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// toastScript shows a toast through the Windows Runtime from PowerShell,
// under PowerShell's own AppUserModelID (an unregistered one shows nothing).
// Title and body come from the environment, never from the script text.
const toastScript = `
$ErrorActionPreference = 'Stop'
[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] | Out-Null
[Windows.Data.Xml.Dom.XmlDocument, Windows.Data.Xml.Dom.XmlDocument, ContentType = WindowsRuntime] | Out-Null
$xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)
$texts = $xml.GetElementsByTagName('text')
$texts.Item(0).AppendChild($xml.CreateTextNode($env:TOKENTRAY_NOTE_TITLE)) | Out-Null
$texts.Item(1).AppendChild($xml.CreateTextNode($env:TOKENTRAY_NOTE_BODY)) | Out-Null
$toast = [Windows.UI.Notifications.ToastNotification]::new($xml)
$id = '{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe'
[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier($id).Show($toast)
`

// Send shows note as a Windows toast via PowerShell (no cgo, no extra
// dependency), with no console window.
func (n Notifier) Send(note Note) error {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	title := note.Title
	if title == "" {
		title = n.appName()
	}
	cmd := exec.CommandContext(ctx, "powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", toastScript)
	cmd.Env = append(os.Environ(), "TOKENTRAY_NOTE_TITLE="+title, "TOKENTRAY_NOTE_BODY="+note.Body)
	const createNoWindow = 0x08000000
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("send notification: powershell toast: %w: %s", err, out)
	}
	return nil
}
