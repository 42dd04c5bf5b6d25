package idpsim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestClientInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{AccessTTL: 2 * time.Minute, Rotation: GraceWindow, Grace: time.Minute})
		hc := s.Client()
		rt := s.Grant(testClient, "alice", []string{"offline_access"})
		tr := post(t, hc, "http://idpsim.test/common/oauth2/v2.0/token", refreshForm(rt)).token(t)
		r := post(t, hc, "http://idpsim.test/common/oauth2/v2.0/token", refreshForm(tr.RefreshToken))
		date, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil || !date.Equal(time.Now().Truncate(time.Second)) {
			t.Errorf("Date = %q; want the bubble's now %v", r.Header.Get("Date"), time.Now())
		}
		time.Sleep(time.Minute)
		if s.Valid(rt) {
			t.Errorf("Valid(used token after the grace window) = true")
		}
	})
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	s := New(Options{})
	_, challenge := pkce("r")
	r := get(t, s.Client(), "http://login.example/common/oauth2/v2.0/authorize?"+authorizeQuery(challenge).Encode())
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "http://127.0.0.1:8400/callback?") {
		t.Errorf("authorize through Client() = %d %q; want the 302 itself", r.Status, r.Header.Get("Location"))
	}
}

func TestClientHead(t *testing.T) {
	s := New(Options{})
	resp, err := s.Client().Head("http://idpsim.test/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	if r := readReply(t, resp); r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("HEAD = %d with %d body bytes; want 200 and none", r.Status, len(r.Body))
	}
}

// TestConcurrentRefreshes runs parallel refresh chains (meaningful with -race).
func TestConcurrentRefreshes(t *testing.T) {
	s, hs := startHTTP(t, Options{Rotation: GraceWindow})
	const users, rounds = 8, 10
	var wg sync.WaitGroup
	for u := range users {
		subject := fmt.Sprintf("user%d", u)
		rt := s.Grant(testClient, subject, nil)
		wg.Go(func() {
			for range rounds {
				resp, err := http.PostForm(hs.URL+"/oauth2/v2.0/token", refreshForm(rt))
				if err != nil {
					t.Errorf("refresh %s: %v", subject, err)
					return
				}
				rt = readReply(t, resp).token(t).RefreshToken
				_ = s.Requests()
				_ = s.Valid(rt)
			}
		})
	}
	wg.Wait()
	for u := range users {
		if got := s.Refreshes(fmt.Sprintf("user%d", u)); got != rounds {
			t.Errorf("Refreshes(user%d) = %d; want %d", u, got, rounds)
		}
	}
}

// TestNoSecretsInRecordsOrErrors scans what a client could log.
func TestNoSecretsInRecordsOrErrors(t *testing.T) {
	s, hs := startHTTP(t, Options{Rotation: Strict})
	rt := s.Grant(testClient, "alice", []string{"openid", "offline_access"})
	tokenURL := hs.URL + "/oauth2/v2.0/token"
	tr := post(t, http.DefaultClient, tokenURL, refreshForm(rt)).token(t)
	var dump strings.Builder
	for _, f := range []Fault{{Kind: InvalidGrant}, {Kind: HTMLError}, {Kind: MalformedJSON}, {Kind: Throttle429}} {
		s.Inject(f)
		fmt.Fprintf(&dump, "%s\n", post(t, http.DefaultClient, tokenURL, refreshForm(tr.RefreshToken)).Body)
	}
	fmt.Fprintf(&dump, "%s\n", post(t, http.DefaultClient, tokenURL, refreshForm(rt)).Body) // strict reuse
	fmt.Fprintf(&dump, "%+v\n", s.Requests())
	for _, tok := range s.Issued() {
		if strings.Contains(dump.String(), tok) {
			t.Errorf("a %.6s… token appears in an error body or the request log", tok)
		}
	}
}
