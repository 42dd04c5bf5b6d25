package idpsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// msError is one Microsoft identity platform error response.
type msError struct {
	status   int
	code     string // OAuth error, e.g. "invalid_grant"
	aadsts   int
	desc     string // without the AADSTS prefix and trace suffix
	suberror string
}

// errorBody is the JSON shape Microsoft returns from its token endpoint.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
	SubError         string `json:"suberror,omitempty"`
}

// aadstsText holds Microsoft's wording for the codes the simulator returns.
var aadstsText = map[int]string{
	50000:   "There was an error issuing a token or an issue with our sign-in service.",
	50011:   "The redirect URI specified in the request does not match the redirect URIs configured for the application.",
	50076:   "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
	50079:   "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource.",
	50173:   "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
	50196:   "The server terminated an operation because it encountered a client request loop. Please contact your app vendor.",
	53003:   "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
	54005:   "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
	65001:   "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.",
	70000:   "The request was denied because one or more scopes requested are unauthorized or expired. The user must first sign in and grant the client application access to the requested scope.",
	70003:   "The app requested an unsupported grant type.",
	70008:   "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
	70011:   "The provided request must include a 'scope' input parameter.",
	70016:   "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
	70019:   "Verification code expired.",
	70043:   "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
	90033:   "A transient error has occurred. Please try again.",
	700016:  "Application was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
	700082:  "The refresh token has expired due to inactivity. The token was inactive for longer than its maximum inactive time.",
	700084:  "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.",
	900144:  "The request body must contain the following parameter.",
	900561:  "The endpoint only accepts POST, OPTIONS requests.",
	501481:  "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
	7000215: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
	9002313: "Invalid request. Request is malformed or invalid.",
	9002327: "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
	9002325: "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
}

// newErr builds an error with Microsoft's text for code, plus detail.
func newErr(status int, oauthCode string, aadsts int, detail string) *msError {
	d, ok := aadstsText[aadsts]
	if !ok {
		d = "An error occurred."
	}
	if detail != "" {
		if d != "" {
			d += " "
		}
		d += detail
	}
	return &msError{status: status, code: oauthCode, aadsts: aadsts, desc: d}
}

func (e *msError) withSub(sub string) *msError { e.suberror = sub; return e }

// body renders e the way Microsoft does, with fresh trace and correlation IDs.
func (s *Server) body(e *msError) errorBody {
	now := s.now().UTC()
	trace, corr := s.guid(), s.guid()
	ts := now.Format("2006-01-02 15:04:05Z")
	return errorBody{
		Error: e.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			e.aadsts, e.desc, trace, corr, ts),
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.aadsts),
		SubError:      e.suberror,
	}
}

// writeError writes e as a JSON error response.
func (s *Server) writeError(w http.ResponseWriter, e *msError) {
	if sw, ok := w.(*statusWriter); ok {
		sw.err, sw.aadsts = e.code, e.aadsts
	}
	s.writeJSON(w, e.status, s.body(e))
}

// writeJSON writes v with Microsoft's response headers.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// setDate stamps the Date header from the server clock (plus DateOffset) and
// Microsoft's request-id headers.
func (s *Server) setDate(w http.ResponseWriter) {
	w.Header().Set("Date", s.now().Add(s.opts.DateOffset).UTC().Format(http.TimeFormat))
	w.Header().Set("X-Ms-Request-Id", s.guid())
}

func (s *Server) now() time.Time { return s.opts.Clock() }
