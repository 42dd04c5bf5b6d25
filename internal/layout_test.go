// Package internal_test holds the import rules of the whole module
// (ARCHITECTURE.md, "Layout"): imports point down only, nothing under
// internal/ depends on Fyne or on ui/, and the keeper links no Fyne.
package internal_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tokentray/tokentray"

// allowed lists, for every package of the module (path relative to the
// module), the module packages it may import directly, in its non-test
// files. "x/..." means x and everything under it. Tests may import more
// (idpsim, for instance). A package absent from the tree is skipped; a
// package present in the tree but not in the table fails the test, so a new
// package has to be placed here first.
var allowed = map[string][]string{
	// The keeper and the CLI: wiring only; anything in internal/ and ui.
	"cmd/tokentray": {"internal/...", "ui", "assets"},
	// The window program: views, and the keeper through the control client;
	// never the vault or the provider.
	"cmd/tokentray-window": {"ui/...", "internal/control", "internal/config", "internal/state", "internal/wire", "internal/quietlocale", "assets"},
	// The front installed as `tokentray`: the socket path rule and nothing
	// else (see TestLayoutFrontIsLight).
	"cmd/tokentray-front": {"internal/control/sockpath", "internal/wire"},

	// The keeper's views (tray menu, icon, notifications): no Fyne (see
	// TestLayoutKeeperHasNoFyne).
	"ui": {"assets", "internal/state", "internal/config", "internal/control", "internal/accesslog", "internal/wire"},
	// The Fyne window.
	"ui/window": {"ui", "internal/state", "internal/config", "internal/wire", "assets"},

	"internal/engine":  {"internal/oauth", "internal/vault", "internal/config", "internal/state"},
	"internal/control": {"internal/state", "internal/config", "internal/control/sockpath", "internal/accesslog", "internal/wire"},
	// The service behind the socket and in-process (control.Service), and
	// the demo's service over the simulator.
	"internal/keeper": {"internal/accesslog", "internal/config", "internal/control", "internal/engine", "internal/hooks",
		"internal/idpsim", "internal/logfile", "internal/oauth", "internal/state", "internal/vault", "internal/azuremi", "internal/wire"},
	// Hooks: commands run on account events, derived from snapshots.
	"internal/hooks": {"internal/engine", "internal/state", "internal/config"},
	// git's and kubectl's credential protocols, and git's helper set-up for
	// the git.credentials mappings.
	"internal/credential": {"internal/config", "internal/shell"},
	// tokentray doctor's checks, over the settings, the service's storage,
	// git's helpers and the login entry.
	"internal/doctor": {"internal/autostart", "internal/config", "internal/credential", "internal/keeper", "internal/vault"},
	// Who was handed a token, in a rotated file.
	"internal/accesslog": {"internal/logfile"},

	// Leaves: they import no other package of the module.
	"internal/oauth":            {"internal/wire"}, // the Microsoft clouds\' login hosts
	"internal/control/sockpath": {},
	"internal/vault":            {},
	"internal/config":           {"internal/wire"},
	// The wire format: standard library only (TestLayoutWireIsStandardLibrary).
	"internal/wire":        {},
	"internal/idpsim":      {},
	"internal/azuremi":     {}, // the Azure SDKs' managed-identity endpoint
	"internal/autostart":   {},
	"internal/quietlocale": {},
	"internal/shell":       {}, // quoting for sh, fish, PowerShell
	"internal/logfile":     {}, // size-rotated files shared by processes
	// The values every client sees (snapshot, status, results, scopes).
	"internal/state": {},
	"assets":         {},
	"internal":       {}, // this test's package
}

// goosList are the systems whose file sets the rules are checked on.
var goosList = []string{"linux", "darwin", "windows"}

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

// listModule returns every package of the module as built for goos.
func listModule(t *testing.T, goos string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=%s go list: %v\n%s", goos, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns path relative to the module, and whether it is in it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// matches reports whether relative path r is matched by pattern.
func matches(pattern, r string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return r == base || strings.HasPrefix(r, base+"/")
	}
	return r == pattern
}

// under reports whether import path p is root or below it.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

func TestLayoutImportTable(t *testing.T) {
	for _, goos := range goosList {
		t.Run(goos, func(t *testing.T) {
			for _, p := range listModule(t, goos) {
				from, _ := rel(p.ImportPath)
				rules, ok := allowed[from]
				if !ok {
					t.Errorf("package %s is not in the import table of internal/layout_test.go; add it with the module packages it may import", from)
					continue
				}
				for _, imp := range p.Imports {
					to, inModule := rel(imp)
					if !inModule {
						continue
					}
					if !slices.ContainsFunc(rules, func(pat string) bool { return matches(pat, to) }) {
						t.Errorf("%s imports %s; allowed from %s: %s", from, to, from, describe(rules))
					}
				}
			}
		})
	}
}

// TestLayoutInternalHasNoFyneNorUI: nothing under internal/ reaches Fyne
// (any fyne.io module, systray included) or ui/, even transitively, so the
// core builds with CGO_ENABLED=0 for every OS.
func TestLayoutInternalHasNoFyneNorUI(t *testing.T) {
	for _, goos := range goosList {
		t.Run(goos, func(t *testing.T) {
			for _, p := range listModule(t, goos) {
				from, _ := rel(p.ImportPath)
				if !matches("internal/...", from) {
					continue
				}
				for _, d := range p.Deps {
					if strings.HasPrefix(d, "fyne.io/") || under(d, module+"/ui") || under(d, module+"/cmd") {
						t.Errorf("%s reaches %s; nothing under internal/ may depend on fyne.io, ui/ or cmd/", from, d)
					}
				}
			}
		})
	}
}

// TestLayoutKeeperHasNoFyne: the keeper (cmd/tokentray) and the keeper's
// views (ui) must not reach fyne.io/fyne/v2, even transitively: its GLFW
// loop ticks at 60 Hz with no window shown, and every CLI call would pay
// its initialisers.
func TestLayoutKeeperHasNoFyne(t *testing.T) {
	for _, goos := range goosList {
		t.Run(goos, func(t *testing.T) {
			for _, p := range listModule(t, goos) {
				from, _ := rel(p.ImportPath)
				if from != "cmd/tokentray" && from != "ui" {
					continue
				}
				var bad []string
				for _, d := range p.Deps {
					if under(d, "fyne.io/fyne/v2") {
						bad = append(bad, d)
					}
				}
				if len(bad) > 0 {
					t.Errorf("%s reaches %d Fyne packages (e.g. %s) through %s; the keeper must link no fyne.io/fyne/v2", from, len(bad), bad[0], fyneVia(t, goos, p))
				}
			}
		})
	}
}

// TestLayoutWireIsStandardLibrary: the wire format imports only the
// standard library, so the front, control and config can share it.
func TestLayoutWireIsStandardLibrary(t *testing.T) {
	for _, goos := range goosList {
		for _, p := range listModule(t, goos) {
			if p.ImportPath != module+"/internal/wire" {
				continue
			}
			for _, d := range p.Deps {
				if first, _, _ := strings.Cut(d, "/"); strings.Contains(first, ".") {
					t.Errorf("GOOS=%s: internal/wire reaches %s; it may import the standard library only", goos, d)
				}
				if _, in := rel(d); in {
					t.Errorf("GOOS=%s: internal/wire reaches module package %s; it may import the standard library only", goos, d)
				}
			}
		}
	}
}

// TestLayoutFrontIsLight: the front that answers `tokentray token` starts
// about as fast as an empty Go program only while it links no network
// stack, no CLI framework and nothing of the module but the socket path
// rule (docs/PERFORMANCE.md §2).
func TestLayoutFrontIsLight(t *testing.T) {
	heavy := []string{"net", "net/http", "crypto/tls", "github.com/spf13/cobra", "github.com/spf13/viper", "fyne.io", "github.com/godbus/dbus/v5"}
	for _, goos := range []string{"linux", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			found := false
			for _, p := range listModule(t, goos) {
				if from, _ := rel(p.ImportPath); from != "cmd/tokentray-front" {
					continue
				}
				found = true
				for _, d := range p.Deps {
					for _, h := range heavy {
						if under(d, h) {
							t.Errorf("cmd/tokentray-front reaches %s; the front must stay light (no %s)", d, strings.Join(heavy, ", "))
						}
					}
					if r, in := rel(d); in && r != "internal/control/sockpath" && r != "internal/wire" {
						t.Errorf("cmd/tokentray-front reaches module package %s; it may use internal/control/sockpath and internal/wire only", r)
					}
				}
			}
			if !found {
				t.Fatal("cmd/tokentray-front is not in the module")
			}
		})
	}
}

// fyneVia names the direct imports of p that bring in fyne.io/fyne/v2.
func fyneVia(t *testing.T, goos string, p pkg) string {
	deps := map[string][]string{}
	for _, q := range listModule(t, goos) {
		deps[q.ImportPath] = q.Deps
	}
	var via []string
	for _, imp := range p.Imports {
		if under(imp, "fyne.io/fyne/v2") {
			via = append(via, imp)
			continue
		}
		if slices.ContainsFunc(deps[imp], func(d string) bool { return under(d, "fyne.io/fyne/v2") }) {
			via = append(via, imp)
		}
	}
	if len(via) == 0 {
		return "a dependency outside the module"
	}
	return strings.Join(via, ", ")
}

func describe(rules []string) string {
	if len(rules) == 0 {
		return "no package of the module"
	}
	return strings.Join(rules, ", ")
}

// TestLayoutWindowHasNoSecrets: the window program is a pure client of the
// keeper; it never links the vault, the OAuth code, the keychain library
// or x/oauth2 (ARCHITECTURE.md, "Layout").
func TestLayoutWindowHasNoSecrets(t *testing.T) {
	banned := []string{module + "/internal/vault", module + "/internal/oauth", module + "/internal/engine",
		"github.com/zalando/go-keyring", "golang.org/x/oauth2"}
	for _, goos := range goosList {
		for _, p := range listModule(t, goos) {
			if p.ImportPath != module+"/cmd/tokentray-window" {
				continue
			}
			for _, d := range p.Deps {
				if slices.ContainsFunc(banned, func(b string) bool { return under(d, b) }) {
					t.Errorf("GOOS=%s: cmd/tokentray-window reaches %s; the window must reach the keeper only through internal/control", goos, d)
				}
			}
		}
	}
}

// TestLayoutCmdIsWiring: cmd/tokentray holds flags, output, exit codes and
// wiring; the service lives in internal/keeper. Its non-test Go stays
// under 2,000 lines, so logic that grows there is moved where it belongs.
func TestLayoutCmdIsWiring(t *testing.T) {
	const limit = 2000
	files, err := filepath.Glob(filepath.Join("..", "cmd", "tokentray", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/tokentray: %d files, %v", len(files), err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), "\n")
	}
	if n >= limit {
		t.Errorf("cmd/tokentray has %d lines of non-test Go; want under %d: move service logic to internal/keeper (or its own package)", n, limit)
	}
}
