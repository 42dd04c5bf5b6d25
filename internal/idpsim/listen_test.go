package idpsim

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeLoopback: the simulator answers on a loopback address until
// Close, and refuses to listen on any other.
func TestServeLoopback(t *testing.T) {
	s := New(Options{})
	if l, err := s.ServeLoopback("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback addresses only") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("ServeLoopback(0.0.0.0:0) = %v; want a refusal naming loopback addresses", err)
	}
	l, err := s.ServeLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Base, "http://127.0.0.1:") {
		t.Errorf("Base = %q; want http://127.0.0.1:port", l.Base)
	}
	c := &http.Client{}
	resp, err := c.Get(l.Base + "/common/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery: %d; want 200", resp.StatusCode)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}
