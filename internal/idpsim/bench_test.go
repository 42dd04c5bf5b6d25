package idpsim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkRefresh is one refresh_token grant over loopback HTTP with a
// keep-alive connection: the baseline for client-side refresh benchmarks.
func BenchmarkRefresh(b *testing.B) {
	s, hs := startHTTP(b, Options{})
	benchRefresh(b, hs.Client(), hs.URL, s.Grant(testClient, "alice", []string{"offline_access", "openid", "profile"}))
}

// BenchmarkRefreshInMemory is the same grant through Server.Client.
func BenchmarkRefreshInMemory(b *testing.B) {
	s := New(Options{})
	benchRefresh(b, s.Client(), "http://idpsim.test", s.Grant(testClient, "alice", []string{"offline_access", "openid", "profile"}))
}

func benchRefresh(b *testing.B, hc *http.Client, base, rt string) {
	tokenURL := base + "/common/oauth2/v2.0/token"
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "refresh_token": {rt}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
