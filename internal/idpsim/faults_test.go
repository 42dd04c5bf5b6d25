package idpsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaultsOverHTTP(t *testing.T) {
	type want struct {
		status     int
		retryAfter string
		ctype      string // Content-Type prefix
		err        errorOf
		bodyLen    int // 0: do not check
		validJSON  bool
	}
	jsonErr := func(status int, e string, code int, sub string) want {
		return want{status: status, ctype: "application/json", err: errorOf{status, e, code, sub}, validJSON: true}
	}
	cases := []struct {
		name  string
		fault Fault
		want  want
	}{
		{"throttle seconds", Fault{Kind: Throttle429, RetryAfter: 1500 * time.Millisecond},
			want{429, "2", "application/json", errorOf{429, "temporarily_unavailable", 50196, ""}, 0, true}},
		{"throttle date", Fault{Kind: Throttle429, RetryAfter: time.Minute, RetryAfterDate: true},
			want{429, "Sun, 01 Mar 2026 09:01:00 GMT", "application/json", errorOf{429, "temporarily_unavailable", 50196, ""}, 0, true}},
		{"unavailable", Fault{Kind: Unavailable503, RetryAfter: 30 * time.Second},
			want{503, "30", "application/json", errorOf{503, "temporarily_unavailable", 90033, ""}, 0, true}},
		{"unavailable without retry-after", Fault{Kind: Unavailable503}, jsonErr(503, "temporarily_unavailable", 90033, "")},
		{"server error", Fault{Kind: ServerError500}, jsonErr(500, "server_error", 50000, "")},
		{"server error as 502", Fault{Kind: ServerError500, Status: 502}, jsonErr(502, "server_error", 50000, "")},
		{"temporarily unavailable", Fault{Kind: TemporarilyUnavailable}, jsonErr(400, "temporarily_unavailable", 90033, "")},
		{"interaction required", Fault{Kind: InteractionRequired}, jsonErr(400, "interaction_required", 50076, "basic_action")},
		{"interaction required 53003", Fault{Kind: InteractionRequired, Code: 53003}, jsonErr(400, "interaction_required", 53003, "basic_action")},
		{"consent required", Fault{Kind: ConsentRequired}, jsonErr(400, "consent_required", 65001, "consent_required")},
		{"invalid grant default", Fault{Kind: InvalidGrant}, jsonErr(400, "invalid_grant", 70008, "")},
		{"malformed json", Fault{Kind: MalformedJSON}, want{status: 200, ctype: "application/json"}},
		{"huge body", Fault{Kind: HugeBody}, want{status: 200, ctype: "application/json", bodyLen: HugeBodySize, validJSON: true}},
		{"html error", Fault{Kind: HTMLError}, want{status: 500, ctype: "text/html"}},
		{"html error 503", Fault{Kind: HTMLError, Status: 503, RetryAfter: time.Second}, want{status: 503, retryAfter: "1", ctype: "text/html"}},
	}
	for _, code := range InvalidGrantCodes {
		sub := ""
		if code == 65001 {
			sub = "consent_required"
		}
		cases = append(cases, struct {
			name  string
			fault Fault
			want  want
		}{"invalid grant " + itoaTest(code), Fault{Kind: InvalidGrant, Code: code}, jsonErr(400, "invalid_grant", code, sub)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newSteppedClock()
			s, hs := startHTTP(t, Options{Clock: clock.Now})
			rt := s.Grant(testClient, "alice", nil)
			s.Inject(tc.fault)
			r := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", refreshForm(rt))
			if r.Status != tc.want.status {
				t.Errorf("status = %d; want %d", r.Status, tc.want.status)
			}
			if got := r.Header.Get("Retry-After"); got != tc.want.retryAfter {
				t.Errorf("Retry-After = %q; want %q", got, tc.want.retryAfter)
			}
			if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.want.ctype) {
				t.Errorf("Content-Type = %q; want %s", got, tc.want.ctype)
			}
			if tc.want.err != (errorOf{}) {
				if d := cmp.Diff(tc.want.err, r.errorOf(t)); d != "" {
					t.Errorf("error (-want +got):\n%s", d)
				}
				if eb := r.errBody(t); !descRE.MatchString(eb.ErrorDescription) {
					t.Errorf("error_description = %q; want Microsoft's shape", eb.ErrorDescription)
				}
			}
			if tc.want.bodyLen != 0 && len(r.Body) != tc.want.bodyLen {
				t.Errorf("body length = %d; want %d", len(r.Body), tc.want.bodyLen)
			}
			if got := json.Valid(r.Body); got != tc.want.validJSON {
				t.Errorf("json.Valid(body) = %t; want %t", got, tc.want.validJSON)
			}
			// A fault answers once and leaves the grant alone.
			post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", refreshForm(rt)).token(t)
			recs := s.Requests()
			if recs[0].Fault != tc.fault.Kind || recs[0].Status != tc.want.status || recs[1].Fault != 0 {
				t.Errorf("Requests() = %+v; want the fault recorded on the first only", recs)
			}
			if got := s.Refreshes("alice"); got != 1 {
				t.Errorf("Refreshes = %d; want 1 (faulted requests do not count)", got)
			}
		})
	}
}

func itoaTest(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestConnResetOverHTTP(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	rt := s.Grant(testClient, "alice", nil)
	s.Inject(Fault{Kind: ConnReset})
	resp, err := http.PostForm(hs.URL+"/oauth2/v2.0/token", refreshForm(rt))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST with ConnReset = %d; want a transport error", resp.StatusCode)
	}
	post(t, http.DefaultClient, hs.URL+"/oauth2/v2.0/token", refreshForm(rt)).token(t)
	if recs := s.Requests(); recs[0].Status != 0 || recs[0].Fault != ConnReset {
		t.Errorf("Requests()[0] = %+v; want status 0, fault connreset", recs[0])
	}
}

func TestConnResetInMemory(t *testing.T) {
	s := New(Options{})
	rt := s.Grant(testClient, "alice", nil)
	s.Inject(Fault{Kind: ConnReset})
	resp, err := s.Client().PostForm("http://idpsim.test/oauth2/v2.0/token", refreshForm(rt))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("in-memory ConnReset = %d; want an error", resp.StatusCode)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("error = %v; want ECONNRESET", err)
	}
}

func TestDelayFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		hc := s.Client()
		rt := s.Grant(testClient, "alice", nil)

		s.Inject(Fault{Kind: Delay, Delay: 30 * time.Second})
		start := time.Now()
		post(t, hc, "http://idpsim.test/oauth2/v2.0/token", refreshForm(rt)).token(t)
		if got := time.Since(start); got != 30*time.Second {
			t.Errorf("delayed refresh took %v; want 30s", got)
		}
		if got := s.Refreshes("alice"); got != 1 {
			t.Errorf("Refreshes after a delayed refresh = %d; want 1", got)
		}

		// A delayed error, and a client that gives up first.
		s.Inject(Fault{Kind: ServerError500, Delay: time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://idpsim.test/oauth2/v2.0/token", strings.NewReader(refreshForm(rt).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start = time.Now()
		_, err := hc.Do(req)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 10*time.Second {
			t.Errorf("Do = %v after %v; want deadline exceeded after 10s", err, time.Since(start))
		}
	})
}

func TestDelayOverHTTPClientGivesUp(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	rt := s.Grant(testClient, "alice", nil)
	arrived := make(chan struct{})
	s.SetFaults(func(*http.Request) *Fault {
		close(arrived)
		return &Fault{Kind: Delay, Delay: time.Hour}
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/oauth2/v2.0/token", strings.NewReader(refreshForm(rt).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived // the server holds the request
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v; want context.Canceled", err)
	}
	// hs.Close (cleanup) returns only once the handler has seen the cancel,
	// so a handler that ignored it would hang the test.
}

func TestFaultQueueAndCount(t *testing.T) {
	s := New(Options{})
	hc := s.Client()
	rt := s.Grant(testClient, "alice", nil)
	s.Inject(Fault{Kind: ServerError500, Count: 2})
	s.Inject(Fault{Kind: Throttle429})
	var got []int
	for range 4 {
		got = append(got, post(t, hc, "http://idpsim.test/oauth2/v2.0/token", refreshForm(rt)).Status)
	}
	if d := cmp.Diff([]int{500, 500, 429, 200}, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
}

func TestSetFaults(t *testing.T) {
	s := New(Options{})
	hc := s.Client()
	rt := s.Grant(testClient, "alice", nil)
	var n atomic.Int32
	s.SetFaults(func(r *http.Request) *Fault {
		if r.PostForm.Get("grant_type") != "refresh_token" {
			t.Errorf("SetFaults saw an unparsed form")
		}
		if n.Add(1)%2 == 1 {
			return &Fault{Kind: Unavailable503, RetryAfter: time.Second}
		}
		return nil
	})
	s.Inject(Fault{Kind: HTMLError}) // the queue goes first
	var got []int
	for range 4 {
		got = append(got, post(t, hc, "http://idpsim.test/oauth2/v2.0/token", refreshForm(rt)).Status)
	}
	s.SetFaults(nil)
	got = append(got, post(t, hc, "http://idpsim.test/oauth2/v2.0/token", refreshForm(rt)).Status)
	if d := cmp.Diff([]int{500, 503, 200, 503, 200}, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	// Faults apply to token requests only.
	s.SetFaults(func(*http.Request) *Fault { return &Fault{Kind: ServerError500} })
	if r := get(t, hc, "http://idpsim.test/.well-known/openid-configuration"); r.Status != 200 {
		t.Errorf("discovery with a token fault = %d; want 200", r.Status)
	}
}

func TestFaultKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range FaultKinds() {
		n := k.String()
		if n == "" || strings.HasPrefix(n, "fault(") || seen[n] {
			t.Errorf("FaultKind(%d).String() = %q; want a unique name", int(k), n)
		}
		seen[n] = true
	}
	if FaultKind(0).String() != "" || FaultKind(99).String() != "fault(99)" {
		t.Errorf("names of none/unknown = %q, %q", FaultKind(0).String(), FaultKind(99).String())
	}
}
