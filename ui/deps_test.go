package ui

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/engine"
)

// The ui package must run headless: it may not import Fyne's app package
// (which needs a display and cgo); cmd creates the app.
func TestDepsNoFyneApp(t *testing.T) {
	for _, pkg := range []string{"github.com/tokentray/tokentray/ui", "github.com/tokentray/tokentray/assets"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, p := range strings.Fields(string(out)) {
			if p == "fyne.io/fyne/v2/app" || strings.HasPrefix(p, "github.com/go-gl/") {
				t.Errorf("%s depends on %s; keep app creation in cmd/", pkg, p)
			}
			if strings.HasSuffix(pkg, "/assets") && strings.HasPrefix(p, "fyne.io/") {
				t.Errorf("assets depends on %s; it must expose plain bytes", p)
			}
		}
	}
}

// The real engine is what cmd passes as Options.Engine.
var _ Engine = (*engine.Engine)(nil)
