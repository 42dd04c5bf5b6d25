package ui

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
)

// TestDocsScreenshots renders the tray menu (built by the same menuItems the
// tray uses) for README.md; the window screenshot comes from the end-to-end
// test under Xvfb (artifacts/e2e-window.png). It writes docs/img/*.png only
// with TOKENTRAY_UPDATE_DOCS=1; otherwise it checks the renders succeed.
func TestDocsScreenshots(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DarkTheme()) //nolint:staticcheck // a fixed dark render for the README
	s := snap(okAccount("work"), needsSignInAccount("home"))
	u := New(a, Options{Settings: config.Defaults(), Now: func() time.Time { return clock }, Location: clock.Location()})
	items := u.menuItems(context.Background(), menuModel(s, clock, clock.Location()))
	m := widget.NewMenu(fyne.NewMenu("tokentray", items...))
	w := test.NewWindow(container.NewPadded(m))
	defer w.Close()
	w.Resize(m.MinSize().Add(fyne.NewSize(16, 16)))
	menuImg := w.Canvas().Capture()

	if os.Getenv("TOKENTRAY_UPDATE_DOCS") != "1" {
		if menuImg.Bounds().Dx() == 0 {
			t.Fatal("empty render")
		}
		return
	}
	dir := filepath.Join("..", "docs", "img")
	os.MkdirAll(dir, 0o755)
	for name, img := range map[string]image.Image{"tray-menu.png": menuImg} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
