package idpsim

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is one way a token request can go wrong.
type FaultKind int

const (
	_ FaultKind = iota // zero: no fault
	// Throttle429 answers 429 temporarily_unavailable (AADSTS50196) with
	// Retry-After when Fault.RetryAfter > 0.
	Throttle429
	// Unavailable503 answers 503 temporarily_unavailable (AADSTS90033) with
	// Retry-After when Fault.RetryAfter > 0.
	Unavailable503
	// ServerError500 answers 500 server_error (AADSTS50000).
	ServerError500
	// Delay waits Fault.Delay (or until the client gives up), then serves
	// the request normally.
	Delay
	// ConnReset closes the connection without a response (an RST on TCP; a
	// transport error from Server.Client).
	ConnReset
	// MalformedJSON answers 200 application/json with a truncated body.
	MalformedJSON
	// HugeBody answers 200 application/json with a valid 5 MiB body.
	HugeBody
	// HTMLError answers 500 text/html with a sign-in error page.
	HTMLError
	// InvalidGrant answers 400 invalid_grant with AADSTS Fault.Code
	// (default 70008; 65001 adds suberror consent_required). The token sent
	// stays valid.
	InvalidGrant
	// InteractionRequired answers 400 interaction_required (AADSTS Code,
	// default 50076) with suberror basic_action.
	InteractionRequired
	// ConsentRequired answers 400 consent_required (AADSTS65001) with
	// suberror consent_required.
	ConsentRequired
	// TemporarilyUnavailable answers 400 temporarily_unavailable
	// (AADSTS90033) without Retry-After.
	TemporarilyUnavailable
)

var faultNames = map[FaultKind]string{
	Throttle429:            "throttle429",
	Unavailable503:         "unavailable503",
	ServerError500:         "servererror500",
	Delay:                  "delay",
	ConnReset:              "connreset",
	MalformedJSON:          "malformedjson",
	HugeBody:               "hugebody",
	HTMLError:              "htmlerror",
	InvalidGrant:           "invalidgrant",
	InteractionRequired:    "interactionrequired",
	ConsentRequired:        "consentrequired",
	TemporarilyUnavailable: "temporarilyunavailable",
}

// String returns the kind's lower-case name ("" for no fault).
func (k FaultKind) String() string {
	if k == 0 {
		return ""
	}
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// FaultKinds lists every kind, for test matrices.
func FaultKinds() []FaultKind {
	return []FaultKind{Throttle429, Unavailable503, ServerError500, Delay, ConnReset, MalformedJSON,
		HugeBody, HTMLError, InvalidGrant, InteractionRequired, ConsentRequired, TemporarilyUnavailable}
}

// InvalidGrantCodes are the AADSTS codes Microsoft sends with invalid_grant
// when the user must sign in again.
var InvalidGrantCodes = []int{700082, 50173, 70043, 700084, 70000, 65001, 70008}

// Fault describes one injected failure of a token request.
type Fault struct {
	Kind FaultKind
	// RetryAfter sets a Retry-After header (Throttle429, Unavailable503, or
	// any kind with an HTTP status): whole seconds, rounded up.
	RetryAfter time.Duration
	// RetryAfterDate sends Retry-After as an HTTP date instead of seconds.
	RetryAfterDate bool
	// Delay is waited before the fault (any kind) is served.
	Delay time.Duration
	// Code overrides the AADSTS code of the JSON error kinds.
	Code int
	// Count is how many token requests an injected fault applies to; 0 is 1.
	Count int
	// Status overrides the HTTP status of the kinds that send one.
	Status int
}

// HugeBodySize is the size of a HugeBody response.
const HugeBodySize = 5 << 20

// Inject queues f for the next f.Count token requests (after faults queued
// before it).
func (s *Server) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// SetFaults installs fn, consulted for every token request while the Inject
// queue is empty; r.Form is already parsed. fn returning nil serves the
// request normally; SetFaults(nil) removes it. fn is called without the
// Server's lock held and must be safe for concurrent use.
func (s *Server) SetFaults(fn func(*http.Request) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFn = fn
}

// nextFault pops the fault for this request, if any.
func (s *Server) nextFault(r *http.Request) *Fault {
	s.mu.Lock()
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults[0].Count--
		if s.faults[0].Count <= 0 {
			s.faults = s.faults[1:]
		}
		s.mu.Unlock()
		return &f
	}
	fn := s.faultFn
	s.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(r)
}

// resetter is implemented by the in-memory response writer of Client.
type resetter interface{ reset() }

// serveFault writes f's response. It reports false when f is a pure Delay
// and the request should be served normally.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f *Fault) (handled bool) {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client is gone; nothing to answer
		}
	}
	status := func(def int) int {
		if f.Status != 0 {
			return f.Status
		}
		return def
	}
	code := func(def int) int {
		if f.Code != 0 {
			return f.Code
		}
		return def
	}
	if f.RetryAfter > 0 {
		if f.RetryAfterDate {
			w.Header().Set("Retry-After", s.now().Add(f.RetryAfter).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	switch f.Kind {
	case Delay:
		w.Header().Del("Retry-After")
		return false
	case Throttle429:
		s.writeError(w, newErr(status(429), "temporarily_unavailable", code(50196), ""))
	case Unavailable503:
		s.writeError(w, newErr(status(503), "temporarily_unavailable", code(90033), ""))
	case ServerError500:
		s.writeError(w, newErr(status(500), "server_error", code(50000), ""))
	case TemporarilyUnavailable:
		s.writeError(w, newErr(status(400), "temporarily_unavailable", code(90033), ""))
	case InvalidGrant:
		e := newErr(status(400), "invalid_grant", code(70008), "")
		if e.aadsts == 65001 {
			e.suberror = "consent_required"
		}
		s.writeError(w, e)
	case InteractionRequired:
		s.writeError(w, newErr(status(400), "interaction_required", code(50076), "").withSub("basic_action"))
	case ConsentRequired:
		s.writeError(w, newErr(status(400), "consent_required", code(65001), "").withSub("consent_required"))
	case MalformedJSON:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status(200))
		_, _ = w.Write([]byte(`{"token_type":"Bearer","scope":"openid","expires_in":3600,"access_token":`))
	case HugeBody:
		writeHuge(w, status(200))
	case HTMLError:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status(500))
		_, _ = w.Write([]byte(htmlErrorPage))
	case ConnReset:
		if sw, ok := w.(*statusWriter); ok {
			sw.commit(0) // before the client can see the reset
		}
		reset(w)
	default:
		s.writeError(w, newErr(status(500), "server_error", code(50000), "Unknown injected fault."))
	}
	return true
}

// writeHuge streams a syntactically valid JSON object of HugeBodySize bytes.
func writeHuge(w http.ResponseWriter, status int) {
	const head, tail = `{"token_type":"Bearer","padding":"`, `"}`
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(HugeBodySize))
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(head)
	pad := strings.Repeat("A", 4096)
	for n := HugeBodySize - len(head) - len(tail); n > 0; n -= len(pad) {
		if n < len(pad) {
			pad = pad[:n]
		}
		if _, err := bw.WriteString(pad); err != nil {
			return // client went away
		}
	}
	_, _ = bw.WriteString(tail)
	_ = bw.Flush()
}

// reset drops the connection without a response.
func reset(w http.ResponseWriter) {
	for u := w; u != nil; {
		if r, ok := u.(resetter); ok {
			r.reset()
			return
		}
		uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		u = uw.Unwrap()
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

const htmlErrorPage = `<!DOCTYPE html>
<html><head><title>Sign in to your account</title></head>
<body><h1>Sorry, but we're having trouble signing you in.</h1>
<p>AADSTS90033: A transient error has occurred. Please try again.</p>
</body></html>
`
