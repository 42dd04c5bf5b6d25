package window

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/tokentray/tokentray/internal/state"
)

var screenshot = flag.String("screenshot", "", "write the window screenshot to this PNG file (relative to ui/window: the README's is ../../docs/img/window.png)")

// darkTheme is Fyne's default theme in its dark variant, as most desktops
// show the window.
type darkTheme struct{ fyne.Theme }

func (t darkTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantDark)
}

// TestScreenshot renders the accounts view of the fixtures (one account
// refreshing hourly whose sign-in-frequency policy asks for a sign-in in 8
// days, one needing sign-in after an AADSTS error) at the
// window's size with the default theme, with the test driver's software
// painter. With -screenshot it saves the PNG:
//
//	go test ./ui/window -run TestScreenshot -screenshot ../../docs/img/window.png
func TestScreenshot(t *testing.T) {
	w, win := newTestWindow(t, Options{Info: Info{Version: "1.4.2"}})
	fyne.CurrentApp().Settings().SetTheme(darkTheme{theme.DefaultTheme()})
	win.Resize(windowSize)
	school := needsSignInAccount("school")
	school.SignedInAs = state.Identity{Name: "Ada Lovelace", Username: "ada.lovelace@fabrikam.test"}
	work := okAccount("work")
	work.Radar = &state.Radar{SignInBy: clock.Add(8*24*time.Hour + 30*time.Minute), Source: state.RadarSignInFrequency, Since: clock.Add(-6 * 24 * time.Hour)}
	w.render(t.Context(), snap(work, school))
	img := win.Canvas().Capture()
	if got := img.Bounds().Size(); got != image.Pt(int(windowSize.Width), int(windowSize.Height)) {
		t.Errorf("screenshot is %v; want the window's size %v", got, windowSize)
	}
	if *screenshot == "" {
		return
	}
	f, err := os.Create(*screenshot)
	if err != nil {
		t.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
