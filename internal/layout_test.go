// Package internal_test holds the import rule of the whole core: nothing
// under internal/ may depend on Fyne or on ui/, so the core builds with
// CGO_ENABLED=0 for every OS.
package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestLayoutInternalImportsNoFyneNorUI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}`, "github.com/tokentray/tokentray/internal/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var bad []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "fyne.io/") || p == "github.com/tokentray/tokentray/ui" || strings.HasPrefix(p, "github.com/tokentray/tokentray/ui/") ||
			strings.HasPrefix(p, "github.com/tokentray/tokentray/cmd/") {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("internal/... depends on %v; the core must not import Fyne, ui/ or cmd/", bad)
	}
}

// TestLayoutIdpsimOnlyInTestsAndCmd: the simulator is for the demo, tests
// and benchmarks, never a dependency of the product's core packages.
func TestLayoutIdpsimOnlyInTestsAndCmd(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/tokentray/tokentray/internal/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasSuffix(f[0], "/idpsim") {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasSuffix(imp, "/internal/idpsim") {
				t.Errorf("%s imports idpsim; only cmd/ and tests may", f[0])
			}
		}
	}
}
