// Package assets owns tokentray's embedded images: one tray icon per tray
// state, as PNG bytes. It has no GUI dependency; the ui package wraps the
// bytes in Fyne resources. Regenerate the icons with `go run gen/main.go`
// from this directory.
package assets

import _ "embed"

// AppIcon is the application icon, 256×256 PNG (desktop entry, packages).
//
//go:embed icon.png
var AppIcon []byte

// Tray icons, 64×64 PNG, one per tray state.
var (
	//go:embed tray-ok.png
	TrayOK []byte
	//go:embed tray-refreshing.png
	TrayRefreshing []byte
	//go:embed tray-warning.png
	TrayWarning []byte
	//go:embed tray-signin.png
	TraySignIn []byte
)
