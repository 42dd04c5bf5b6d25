package idpsim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// slowDownStep is what RFC 8628 adds to the interval on every slow_down.
const slowDownStep = 5 * time.Second

type deviceCode struct {
	code     string
	userCode string
	clientID string
	scopes   []string
	subject  string
	tenantID string
	expires  time.Time
	interval time.Duration
	lastPoll time.Time
	polls    int // polls answered with authorization_pending or success
	approved bool
	redeemed bool
}

// deviceResponse is Microsoft's devicecode response.
type deviceResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	Message         string `json:"message"`
}

// userCode returns 9 characters from an alphabet without look-alikes.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [9]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// serveDeviceCode starts a device authorization (RFC 8628 §3.1).
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, rt route, rec *RequestRecord) {
	if r.Method != http.MethodPost {
		s.writeError(w, newErr(400, "invalid_request", 900561, "Received a "+r.Method+" request."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, newErr(400, "invalid_request", 9002313, "The request body is not a form."))
		return
	}
	clientID, secret := clientAuth(r)
	rec.ClientID = clientID
	if e := s.checkClient(r, clientID, secret); e != nil {
		s.writeError(w, e)
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		s.writeError(w, newErr(400, "invalid_request", 70011, ""))
		return
	}
	subject := r.PostForm.Get("login_hint")
	if subject == "" {
		subject = s.opts.DefaultSubject
	}
	rec.Subject = subject
	d := &deviceCode{
		code:     randToken(DevicePrefix),
		clientID: clientID,
		scopes:   scopes,
		subject:  subject,
		tenantID: s.tenantID(rt.tenant),
		expires:  s.now().Add(s.opts.DeviceTTL),
		interval: s.opts.DeviceInterval,
	}
	s.mu.Lock()
	for d.userCode == "" || s.users[d.userCode] != nil {
		d.userCode = userCode()
	}
	s.devices[d.code] = d
	s.users[d.userCode] = d
	s.issued = append(s.issued, d.code)
	s.mu.Unlock()
	verify := s.base(r) + "/device"
	s.writeJSON(w, http.StatusOK, deviceResponse{
		UserCode:        d.userCode,
		DeviceCode:      d.code,
		VerificationURI: verify,
		ExpiresIn:       int64(s.opts.DeviceTTL / time.Second),
		Interval:        int64(d.interval / time.Second),
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verify, d.userCode),
	})
}

// redeemDevice is the device_code grant: authorization_pending until the
// code is approved, slow_down when polled faster than the interval.
func (s *Server) redeemDevice(f url.Values, clientID, iss string) (tokenResponse, *msError) {
	code := f.Get("device_code")
	if code == "" {
		return tokenResponse{}, newErr(400, "invalid_request", 900144, "Missing: 'device_code'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	d := s.devices[code]
	switch {
	case d == nil:
		return tokenResponse{}, newErr(400, "invalid_grant", 9002313, "The device code is malformed or unknown.")
	case d.clientID != clientID:
		return tokenResponse{}, newErr(400, "invalid_grant", 9002313, "The device code was issued to another client.")
	case d.redeemed:
		return tokenResponse{}, newErr(400, "invalid_grant", 54005, "The device code was already redeemed.")
	case !now.Before(d.expires):
		return tokenResponse{}, newErr(400, "expired_token", 70019, "")
	}
	last := d.lastPoll
	d.lastPoll = now
	if !last.IsZero() && now.Sub(last) < d.interval {
		d.interval += slowDownStep
		return tokenResponse{}, newErr(400, "slow_down", 70016,
			fmt.Sprintf("Polled faster than the interval; poll every %s from now on.", d.interval))
	}
	d.polls++
	if !d.approved && s.opts.AutoApproveDevice > 0 && d.polls >= s.opts.AutoApproveDevice {
		d.approved = true
	}
	if !d.approved {
		return tokenResponse{}, newErr(400, "authorization_pending", 70016, "")
	}
	rc, e := parseRequestClaims(f.Get("claims"))
	if e != nil {
		return tokenResponse{}, e
	}
	d.redeemed = true
	g := s.newGrantLocked(d.clientID, d.subject, d.tenantID, d.scopes)
	resp := s.issueLocked(g, d.scopes, iss, "", slices.Contains(d.scopes, "offline_access"))
	s.access[resp.AccessToken].xmsCC = rc.capabilities // client capabilities declared at sign-in (CAE)
	return resp, nil
}

// ErrUnknownUserCode is returned by ApproveDevice for a user code that was
// never issued, has expired or was already used.
var ErrUnknownUserCode = errors.New("idpsim: unknown or expired user code")

// ApproveDevice signs the user in on the device authorization with
// userCode; the next poll gets tokens.
func (s *Server) ApproveDevice(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.users[strings.ToUpper(strings.TrimSpace(userCode))]
	if d == nil || d.redeemed || !s.now().Before(d.expires) {
		return ErrUnknownUserCode
	}
	d.approved = true
	return nil
}

// serveDevicePage is the verification_uri: a form that approves a user code.
func (s *Server) serveDevicePage(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	var msg string
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		_ = r.ParseForm()
		if err := s.ApproveDevice(r.PostForm.Get("user_code")); err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_ = devicePage.Execute(w, "That code was not recognised or has expired. Try again.")
			return
		}
		msg = "You have signed in to the application on your device. You may now close this window."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = devicePage.Execute(w, msg)
}

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html><head><title>Enter code</title></head><body>
<h1>Enter code</h1>{{if .}}<p>{{.}}</p>{{end}}
<form method="POST"><input name="user_code" autocomplete="off" autofocus>
<button type="submit">Next</button></form></body></html>
`))
