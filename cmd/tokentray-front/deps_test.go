package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFrontLinksNoService: the front starts fast because it links the wire
// format and the socket path and nothing of the keeper.
func TestFrontLinksNoService(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/tokentray/tokentray/cmd/tokentray-front":       true,
		"github.com/tokentray/tokentray/internal/wire":             true,
		"github.com/tokentray/tokentray/internal/control/sockpath": true,
		"golang.org/x/sys/unix":                                    true, // sockpath's peer credentials on macOS
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("cmd/tokentray-front depends on %s; want only wire, sockpath and the standard library", p)
		}
	}
}
