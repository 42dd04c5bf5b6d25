package ui

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists the packages pkg depends on.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// The keeper links ui and assets: neither may reach the Fyne toolkit (its
// GLFW loop ticks at 60 Hz), and ui/window may not create the Fyne app
// (which needs a display and cgo; the window program's main does).
func TestDeps(t *testing.T) {
	for _, pkg := range []string{"github.com/tokentray/tokentray/ui", "github.com/tokentray/tokentray/assets"} {
		for _, p := range deps(t, pkg) {
			if strings.HasPrefix(p, "fyne.io/fyne/") || strings.HasPrefix(p, "github.com/go-gl/") {
				t.Errorf("%s depends on %s; the keeper must not link Fyne", pkg, p)
			}
			if strings.HasSuffix(pkg, "/assets") && strings.HasPrefix(p, "fyne.io/") {
				t.Errorf("assets depends on %s; it must expose plain bytes", p)
			}
		}
	}
	for _, p := range deps(t, "github.com/tokentray/tokentray/ui/window") {
		if p == "fyne.io/fyne/v2/app" || strings.HasPrefix(p, "github.com/go-gl/") {
			t.Errorf("ui/window depends on %s; keep app creation in cmd/tokentray-window", p)
		}
	}
	// The window is a pure client: it reaches the keeper only through its
	// Keeper interface, never the vault, the provider or the socket itself.
	out, err := exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", "github.com/tokentray/tokentray/ui/window").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ui/window: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"internal/vault", "internal/oauth", "internal/control", "internal/idpsim"} {
			if p == "github.com/tokentray/tokentray/"+banned {
				t.Errorf("ui/window imports %s; it is a pure client of the keeper", p)
			}
		}
	}
}
