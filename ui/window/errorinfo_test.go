package window

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/tokentray/tokentray/internal/state"
)

func TestErrorText(t *testing.T) {
	backingOff := backingOffAccount("work")
	for _, tc := range []struct {
		name      string
		a         state.AccountStatus
		e         state.ErrorInfo
		want      string
		wantKnown bool
	}{
		{
			name:      "AADSTS code with its OAuth code",
			e:         state.ErrorInfo{Code: "invalid_grant", AADSTS: []int{70043}},
			want:      "invalid_grant (AADSTS70043): the sign-in session expired under a sign-in frequency policy — Sign in again",
			wantKnown: true,
		},
		{
			name:      "the first known AADSTS code explains",
			e:         state.ErrorInfo{Code: "interaction_required", AADSTS: []int{12345, 53003}},
			want:      "interaction_required (AADSTS12345, AADSTS53003): a Conditional Access policy blocked the sign-in — Ask your IT administrator (Copy details gives them the ids); signing in again will not help until the policy allows it",
			wantKnown: true,
		},
		{
			name:      "AADSTS code alone",
			e:         state.ErrorInfo{AADSTS: []int{700082}},
			want:      "AADSTS700082: the refresh token expired after 90 days without use — Sign in again",
			wantKnown: true,
		},
		{
			name:      "unknown AADSTS, known OAuth code",
			e:         state.ErrorInfo{Code: "consent_required", AADSTS: []int{12345}},
			want:      "consent_required (AADSTS12345): consent for the requested scopes is missing — Sign in again and consent",
			wantKnown: true,
		},
		{
			name:      "OAuth code",
			e:         state.ErrorInfo{Code: "invalid_client", HTTPStatus: 401},
			want:      "invalid_client: the provider does not accept the client ID — Check the account's client ID and its app registration",
			wantKnown: true,
		},
		{
			name:      "throttled, with the retry time",
			a:         backingOff,
			e:         state.ErrorInfo{HTTPStatus: 429},
			want:      "HTTP 429: the provider is throttling requests — None needed: tokentray retries at 12:40",
			wantKnown: true,
		},
		{
			name:      "temporarily unavailable, no retry time",
			e:         state.ErrorInfo{Code: "temporarily_unavailable", HTTPStatus: 503},
			want:      "temporarily_unavailable: the provider is temporarily unavailable — None needed: tokentray retries automatically",
			wantKnown: true,
		},
		{
			name: "unknown: the plain message",
			e:    state.ErrorInfo{Code: "server_error", AADSTS: []int{12345}, HTTPStatus: 500, Message: "temporary provider problem, will retry: the provider is temporarily unavailable"},
			want: "temporary provider problem, will retry: the provider is temporarily unavailable",
		},
		{
			name: "no code at all",
			a:    state.AccountStatus{Reason: "the keychain is locked: unlock it"},
			e:    state.ErrorInfo{Class: state.ClassStorage, Message: "saving the new tokens failed"},
			want: "saving the new tokens failed — the keychain is locked: unlock it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.LastError = &tc.e
			got, known := errorText(a, clock, time.UTC)
			if got != tc.want || known != tc.wantKnown {
				t.Errorf("errorText(%+v) = %q, %v; want %q, %v", tc.e, got, known, tc.want, tc.wantKnown)
			}
		})
	}
}

// Every code the table promises has an explanation.
func TestErrorHelpCoversCommonCodes(t *testing.T) {
	for _, c := range []int{50173, 50076, 50078, 50079, 53003, 65001, 70000, 70008, 70043, 700082, 700084, 9002327} {
		if h, ok := aadstsHelp[c]; !ok || h.meaning == "" || h.fix == "" {
			t.Errorf("AADSTS%d has no help: %+v", c, h)
		}
	}
	for _, c := range []string{"invalid_grant", "interaction_required", "consent_required", "invalid_client", "temporarily_unavailable"} {
		if h, ok := oauthHelp[c]; !ok || h.meaning == "" || (h.fix == "" && !h.retries) {
			t.Errorf("%s has no help: %+v", c, h)
		}
	}
	for _, c := range []int{429, 503} {
		if _, ok := statusHelp[c]; !ok {
			t.Errorf("HTTP %d has no help", c)
		}
	}
}

// Tokens a misbehaving provider might echo in its error description.
const (
	fixtureAccessToken  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJl"
	fixtureRefreshToken = "0.AXoAv4j5cvGGr0GRqy180BHbR1AAAAAAAAAAwAAAAAAAAAB6AJw.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wQA9P8"
)

// tokenLike matches anything shaped like an OAuth token.
var tokenLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}|[A-Za-z0-9_\-.~+/]{40,}`)

func TestCopyDetails(t *testing.T) {
	w, _ := newTestWindow(t, Options{Info: Info{Version: "1.4.2"}})
	a := needsSignInAccount("work")
	e := *a.LastError
	e.Message += " (description: refresh_token " + fixtureRefreshToken + " for " + fixtureAccessToken + ")"
	a.LastError = &e
	w.render(t.Context(), snap(a, okAccount("home")))
	c := w.cards["work"]
	if !c.copyDetails.Visible() {
		t.Fatal("Copy details is hidden on an account with an error")
	}
	if w.cards["home"].errBox.Visible() {
		t.Error("an OK account shows an error")
	}
	test.Tap(c.copyDetails)

	got := w.app.Clipboard().Content()
	for _, want := range []string{
		"Account:        work\n", "Provider:       Microsoft (microsoft)\n", "State:          Needs sign-in\n",
		"Time:           2026-03-10T12:20:00Z\n", "Class:          permanent\n", "Code:           invalid_grant\n",
		"AADSTS:         70043\n", "HTTP status:    400 Bad Request\n",
		"Trace ID:       " + fixtureTraceID + "\n", "Correlation ID: " + fixtureCorrelationID + "\n",
		"tokentray:      1.4.2\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("copied details lack %q:\n%s", want, got)
		}
	}
	for _, tok := range []string{fixtureAccessToken, fixtureRefreshToken, fixtureRefreshToken[:20]} {
		if strings.Contains(got, tok) {
			t.Errorf("copied details contain the token %q:\n%s", tok, got)
		}
	}
	if m := tokenLike.FindString(got); m != "" {
		t.Errorf("copied details contain the token-like %q:\n%s", m, got)
	}
	if !c.message.Visible() || c.message.Text != "Error details copied to the clipboard." {
		t.Errorf("after Copy details the card says %q (visible %v)", c.message.Text, c.message.Visible())
	}
}
