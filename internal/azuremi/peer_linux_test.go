package azuremi

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// procAddr writes ap as /proc/net/tcp{,6} does: each 32-bit word of the
// address printed as a native-endian number in hex, then the port.
func procAddr(ap netip.AddrPort) string {
	var b strings.Builder
	raw := ap.Addr().AsSlice()
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	fmt.Fprintf(&b, ":%04X", ap.Port())
	return b.String()
}

// TestParseProcAddr: /proc/net/tcp{,6} addresses parse to the address and
// port they name; anything else is refused.
func TestParseProcAddr(t *testing.T) {
	for _, want := range []string{"127.0.0.1:8080", "0.0.0.0:0", "[::ffff:127.0.0.1]:41394", "[::1]:22"} {
		in := procAddr(netip.MustParseAddrPort(want))
		got, ok := parseProcAddr(in)
		if !ok || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, ok, want)
		}
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 { // little-endian: the kernel's text for 127.0.0.1:8080
		if got, _ := parseProcAddr("0100007F:1F90"); got.String() != "127.0.0.1:8080" {
			t.Errorf("parseProcAddr(0100007F:1F90) = %v; want 127.0.0.1:8080", got)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:1", "0100007F:XYZ", "01007F:0001"} {
		if got, ok := parseProcAddr(bad); ok {
			t.Errorf("parseProcAddr(%q) = %v; want not ok", bad, got)
		}
	}
}
