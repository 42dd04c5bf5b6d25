package idpsim

import (
	"net/http"
	"slices"
	"time"
)

// RequestRecord is one request as the simulator saw it. It holds no secrets.
type RequestRecord struct {
	Time time.Time
	// Endpoint is token, authorize, devicecode, revoke, discovery, userinfo,
	// device, jwks, resource, introspect or notfound.
	Endpoint  string
	Tenant    string // path tenant, "" on the plain routes
	GrantType string // token requests only
	ClientID  string
	Subject   string // when the request's code or token is known
	Status    int    // 0 when the connection was reset or the client left
	Error     string // OAuth error code of the response, if any
	AADSTS    int    // AADSTS code of the response, if any
	Fault     FaultKind
	Scope     string // token requests: the scope parameter as sent
}

// Requests returns every request served so far, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Refreshes returns how many refresh_token grants for subject succeeded
// (issued tokens; injected faults other than Delay do not count).
func (s *Server) Refreshes(subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Endpoint == "token" && r.GrantType == "refresh_token" && r.Subject == subject && r.Status == http.StatusOK && (r.Fault == 0 || r.Fault == Delay) {
			n++
		}
	}
	return n
}

func (s *Server) record(rec *RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, *rec)
}

// statusWriter records the request when its response starts, so that a
// client which has seen a response also finds it in Requests.
type statusWriter struct {
	http.ResponseWriter
	s         *Server
	rec       *RequestRecord
	committed bool
	err       string // OAuth error about to be written, if any
	aadsts    int
}

// commit records the request once, with status (0: no response).
func (w *statusWriter) commit(status int) {
	if w.committed {
		return
	}
	w.committed = true
	w.rec.Status, w.rec.Error, w.rec.AADSTS = status, w.err, w.aadsts
	w.s.record(w.rec)
}

func (w *statusWriter) WriteHeader(code int) {
	w.commit(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.commit(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
