package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes is the largest response body read from a provider; a
// larger body is a Transient error ("response too large").
const MaxResponseBytes = 1 << 20

// errTooLarge is wrapped by the Error returned for an oversized body.
var errTooLarge = errors.New("response too large")

// ErrNoRefreshToken is wrapped by sign-in errors when the provider issued no
// refresh token.
var ErrNoRefreshToken = errors.New("the provider issued no refresh token: add the offline_access scope to the account")

// tokenResponse is the union of a successful token response and an error
// response (RFC 6749 §5.1, §5.2, plus Microsoft's fields).
type tokenResponse struct {
	AccessToken  string     `json:"access_token"`
	TokenType    string     `json:"token_type"`
	RefreshToken string     `json:"refresh_token"`
	ExpiresIn    flexNumber `json:"expires_in"`
	Scope        string     `json:"scope"`
	IDToken      string     `json:"id_token"`
	// The expiry radar (radar.go): refresh-token lifetimes.
	RefreshTokenExpiresIn optSeconds `json:"refresh_token_expires_in"`
	RefreshExpiresIn      optSeconds `json:"refresh_expires_in"`

	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	SubError      string `json:"suberror"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// flexNumber accepts a JSON number or a string holding one (older Microsoft
// endpoints send expires_in as a string).
type flexNumber int64

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("expires_in: %w", err)
	}
	if f < 0 || f > 1<<40 {
		f = 0
	}
	*n = flexNumber(f)
	return nil
}

// parseTokenResponse turns one HTTP response of a token endpoint into a
// tokenResponse, or an *Error with every field it could read and its Class.
// It never fails on odd bodies: HTML, plain text and truncated JSON become
// errors classified by the status code. now is used for Retry-After dates.
func parseTokenResponse(status int, h http.Header, body []byte, now time.Time) (tokenResponse, *Error) {
	var tr tokenResponse
	parsed := false
	ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		parsed = decodeLenient(trimmed, &tr)
	case ct == "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(trimmed)); err == nil {
			tr = tokenResponse{
				AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"),
				RefreshToken: v.Get("refresh_token"), Scope: v.Get("scope"), IDToken: v.Get("id_token"),
				Error: v.Get("error"), Description: v.Get("error_description"),
				RefreshTokenExpiresIn: parseOptSeconds(v.Get("refresh_token_expires_in")),
				RefreshExpiresIn:      parseOptSeconds(v.Get("refresh_expires_in")),
			}
			if n, err := strconv.ParseInt(v.Get("expires_in"), 10, 64); err == nil && n > 0 {
				tr.ExpiresIn = flexNumber(n)
			}
			parsed = true
		}
	}
	ok := status >= 200 && status < 300
	if ok && parsed && tr.Error == "" && tr.AccessToken != "" {
		return tr, nil
	}
	e := &Error{Status: status}
	e.RetryAfter, e.RetryAfterAsked = parseRetryAfter(h.Get("Retry-After"), now)
	if parsed {
		e.Code = oneLine(tr.Error)
		e.Description = sanitize(tr.Description)
		e.SubError = oneLine(tr.SubError)
		e.TraceID = oneLine(tr.TraceID)
		e.CorrelationID = oneLine(tr.CorrelationID)
		e.AADSTS = aadstsCodes(tr.ErrorCodes, tr.Description)
		if e.Code == "" && ok {
			e.Err = errors.New("token response has no access_token")
		}
	} else {
		e.Err = errors.New("malformed token response")
		if ok {
			e.Err = errors.New("malformed token response: " + describeBody(ct, trimmed))
		} else if len(trimmed) > 0 {
			e.Err = errors.New(describeBody(ct, trimmed))
		}
		// An HTML or text error page from Microsoft may still name the code.
		e.AADSTS = aadstsCodes(nil, string(trimmed[:min(len(trimmed), 64<<10)]))
	}
	// Microsoft puts the request ids in headers too.
	if e.TraceID == "" {
		e.TraceID = oneLine(h.Get("X-Ms-Request-Id"))
	}
	if e.CorrelationID == "" {
		e.CorrelationID = oneLine(h.Get("Client-Request-Id"))
	}
	classify(e)
	return tr, e
}

// decodeLenient decodes a JSON object into tr field by field, so one field of
// an unexpected type (say error_codes as a string) does not hide the others.
// It reports false when b is not a JSON object at all.
func decodeLenient(b []byte, tr *tokenResponse) bool {
	if json.Unmarshal(b, tr) == nil {
		return true
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return false
	}
	*tr = tokenResponse{}
	targets := map[string]any{
		"access_token": &tr.AccessToken, "token_type": &tr.TokenType, "refresh_token": &tr.RefreshToken,
		"expires_in": &tr.ExpiresIn, "scope": &tr.Scope, "id_token": &tr.IDToken,
		"error": &tr.Error, "error_description": &tr.Description, "error_codes": &tr.ErrorCodes,
		"suberror": &tr.SubError, "trace_id": &tr.TraceID, "correlation_id": &tr.CorrelationID,
		"refresh_token_expires_in": &tr.RefreshTokenExpiresIn, "refresh_expires_in": &tr.RefreshExpiresIn,
	}
	for k, raw := range fields {
		if dst, ok := targets[k]; ok {
			_ = json.Unmarshal(raw, dst) // a field of the wrong type stays zero
		}
	}
	return true
}

// describeBody names an unparsable body without quoting it (it may hold
// anything, including a token).
func describeBody(ct string, b []byte) string {
	kind := "unparsable"
	switch {
	case ct == "text/html" || bytes.HasPrefix(bytes.ToLower(b[:min(len(b), 15)]), []byte("<!doctype")) || bytes.HasPrefix(b, []byte("<")):
		kind = "html"
	case ct == "text/plain":
		kind = "plain-text"
	case ct == "application/json" || (len(b) > 0 && b[0] == '{'):
		kind = "invalid json"
	}
	return fmt.Sprintf("%s body (%d bytes)", kind, len(b))
}

// timeout is the per-request timeout.
func (c *Client) timeout() time.Duration {
	if c == nil || c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c *Client) httpClient() *http.Client {
	if c == nil || c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// post sends form to endpoint with the profile's client authentication and
// extra headers, and returns the status, headers and body (at most
// MaxResponseBytes) together with the time the request was sent. Failures
// are *Error values that never contain any of the secrets.
func (c *Client) post(ctx context.Context, p Profile, endpoint string, form url.Values, secrets []string) (status int, h http.Header, body []byte, sent time.Time, err error) {
	if err := checkEndpoint(endpoint); err != nil {
		return 0, nil, nil, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	if p.ClientID != "" {
		form.Set("client_id", p.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, time.Time{}, fmt.Errorf("build request to %s: %w", redactURL(endpoint), err)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
	}
	sent = time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, nil, sent, networkError(ctx, err, secrets)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return resp.StatusCode, resp.Header, nil, sent, networkError(ctx, fmt.Errorf("read response: %w", err), secrets)
	}
	if len(body) > MaxResponseBytes {
		return resp.StatusCode, resp.Header, nil, sent, &Error{Class: Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("%w (over %d bytes)", errTooLarge, MaxResponseBytes)}
	}
	return resp.StatusCode, resp.Header, body, sent, nil
}

// networkError wraps a transport failure as a Transient *Error; the message
// keeps only the cause (the request URL carries no secret, but be safe).
func networkError(ctx context.Context, err error, secrets []string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.Canceled):
		err = context.Canceled
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		err = fmt.Errorf("request timed out: %w", context.DeadlineExceeded)
	default:
		if msg := err.Error(); sanitize(msg, secrets...) != msg {
			err = errors.New(sanitize(msg, secrets...))
		}
	}
	return &Error{Class: Transient, Err: err}
}

// tokenRequest posts form to the profile's token endpoint and returns the
// parsed token response; error responses become classified *Error values.
func (c *Client) tokenRequest(ctx context.Context, p Profile, form url.Values, secrets ...string) (tokenResponse, time.Time, time.Duration, error) {
	status, h, body, sent, err := c.post(ctx, p, p.Endpoints.Token, form, secrets)
	if err != nil {
		return tokenResponse{}, sent, 0, err
	}
	now := time.Now()
	tr, e := parseTokenResponse(status, h, body, now)
	if e != nil {
		if len(secrets) > 0 {
			e.Description = sanitize(e.Description, secrets...)
		}
		return tokenResponse{}, sent, 0, e
	}
	var off time.Duration
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		off = d.Sub(now.Truncate(time.Second))
	}
	return tr, sent, off, nil
}

// toToken converts a successful response; sent is when the request left.
func toToken(tr tokenResponse, p Profile, sent time.Time, off time.Duration, prevAccess string) Token {
	t := Token{
		AccessToken:  tr.AccessToken,
		RefreshToken: tr.RefreshToken,
		TokenType:    tr.TokenType,
		IDToken:      tr.IDToken,
		Fresh:        tr.AccessToken != "" && tr.AccessToken != prevAccess,
		ClockOffset:  off,
		Claims:       parseClaims(tr.IDToken),
		AuthTime:     authTime(tr.IDToken),
	}
	t.RefreshExpiry, t.RefreshExpirySource, t.RefreshNoExpiry = refreshExpiry(tr, sent)
	if tr.ExpiresIn > 0 {
		t.Expiry = sent.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tr.Scope != "" {
		t.Scopes = strings.Fields(tr.Scope)
	} else {
		t.Scopes = append([]string(nil), p.Scopes...)
	}
	return t
}

// Refresh redeems refreshToken at the token endpoint with a refresh_token
// grant, with the profile's scopes (a narrower or another resource's set
// asks for a token for those, RFC 6749 §6) and, when the profile has
// Capabilities or Claims, the merged claims parameter. It always makes the network call (there is no access-token cache),
// keeps refreshToken when the response carries none (Rotated false), sets
// Fresh when the new access token differs from prevAccess, Expiry to the
// time the request was sent plus expires_in, and ClockOffset from the
// response Date header. Every error wraps an *Error (see ClassOf) and
// never contains a token.
func (c *Client) Refresh(ctx context.Context, p Profile, refreshToken, prevAccess string) (Token, error) {
	if refreshToken == "" {
		return Token{}, &Error{Class: Permanent, Err: errors.New("no refresh token stored")}
	}
	p, err := c.resolveFor(ctx, "refresh", p)
	if err != nil {
		return Token{}, err
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}
	if len(p.Scopes) > 0 {
		form.Set("scope", strings.Join(p.Scopes, " "))
	}
	claims, err := RequestClaims(p.Capabilities, p.Claims)
	if err != nil {
		return Token{}, &Error{Class: Permanent, Err: fmt.Errorf("refresh: %w", err)}
	}
	if claims != "" {
		form.Set("claims", claims)
	}
	tr, sent, off, err := c.tokenRequest(ctx, p, form, refreshToken, prevAccess)
	if err != nil {
		return Token{}, fmt.Errorf("refresh: %w", err)
	}
	t := toToken(tr, p, sent, off, prevAccess)
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	} else {
		t.Rotated = t.RefreshToken != refreshToken
	}
	return t, nil
}
