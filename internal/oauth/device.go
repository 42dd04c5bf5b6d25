package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DeviceCode is what the user needs to finish a device-code sign-in.
type DeviceCode struct {
	UserCode        string
	VerificationURI string
	Message         string // the provider's instructions, if any
	ExpiresIn       time.Duration
}

type deviceResponse struct {
	DeviceCode              string     `json:"device_code"`
	UserCode                string     `json:"user_code"`
	VerificationURI         string     `json:"verification_uri"`
	VerificationURL         string     `json:"verification_url"` // Google's spelling
	VerificationURIComplete string     `json:"verification_uri_complete"`
	ExpiresIn               flexNumber `json:"expires_in"`
	Interval                flexNumber `json:"interval"`
	Message                 string     `json:"message"`
}

// Device-flow defaults (RFC 8628).
const (
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second
	defaultDeviceTTL      = 15 * time.Minute
)

// LoginDevice signs in with the device authorization grant: it asks for a
// code, passes it to show (once), then polls the token endpoint at the
// advertised interval, adding 5 s on every slow_down, until the user
// finishes, declines, the code expires or ctx ends. The result always has a
// refresh token, else the error wraps ErrNoRefreshToken.
func (c *Client) LoginDevice(ctx context.Context, p Profile, show func(DeviceCode)) (Token, error) {
	p, err := c.resolveFor(ctx, "device sign-in", p)
	if err != nil {
		return Token{}, err
	}
	if p.Endpoints.Device == "" {
		return Token{}, errors.New("device sign-in: the provider has no device authorization endpoint")
	}
	form := url.Values{}
	if len(p.Scopes) > 0 {
		form.Set("scope", strings.Join(p.Scopes, " "))
	}
	status, h, body, _, err := c.post(ctx, p, p.Endpoints.Device, form, nil)
	if err != nil {
		return Token{}, fmt.Errorf("device sign-in: %w", err)
	}
	var dr deviceResponse
	if status/100 != 2 || json.Unmarshal(body, &dr) != nil || dr.DeviceCode == "" || dr.UserCode == "" {
		_, e := parseTokenResponse(status, h, body, time.Now())
		if e == nil { // a 2xx token-shaped answer is still not a device code
			e = &Error{Class: Transient, Status: status, Err: errors.New("malformed device code response")}
		}
		if e.Code == "" && e.Err == nil {
			e.Err = errors.New("malformed device code response")
		}
		return Token{}, fmt.Errorf("device sign-in: %w", e)
	}
	verify := dr.VerificationURI
	if verify == "" {
		verify = dr.VerificationURL
	}
	ttl := time.Duration(dr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = defaultDeviceTTL
	}
	interval := time.Duration(dr.Interval) * time.Second
	if interval <= 0 {
		interval = defaultDeviceInterval
	}
	if show != nil {
		show(DeviceCode{UserCode: dr.UserCode, VerificationURI: verify, Message: dr.Message, ExpiresIn: ttl})
	}

	deadline := time.NewTimer(ttl)
	defer deadline.Stop()
	for {
		wait := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			wait.Stop()
			return Token{}, fmt.Errorf("device sign-in: %w", ctx.Err())
		case <-deadline.C:
			wait.Stop()
			return Token{}, errors.New("device sign-in: the code expired before sign-in finished; try again")
		case <-wait.C:
		}
		poll := url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {dr.DeviceCode},
		}
		if err := setCapabilityClaims(poll, p); err != nil {
			return Token{}, fmt.Errorf("device sign-in: %w", err)
		}
		tr, sent, off, err := c.tokenRequest(ctx, p, poll, dr.DeviceCode)
		if err == nil {
			t, err := signInToken(tr, p, sent, off)
			if err != nil {
				return Token{}, fmt.Errorf("device sign-in: %w", err)
			}
			return t, nil
		}
		var e *Error
		if !errors.As(err, &e) {
			return Token{}, fmt.Errorf("device sign-in: %w", err)
		}
		switch {
		case e.Code == "authorization_pending":
		case e.Code == "slow_down":
			interval += slowDownStep
		case e.Class == RetryAfter:
			interval = max(interval, e.RetryAfter)
		case e.Class == Transient && e.Status == 0 && ctx.Err() == nil:
			// A network blip while the user types the code: keep polling.
		default:
			return Token{}, fmt.Errorf("device sign-in: %w", err)
		}
	}
}
