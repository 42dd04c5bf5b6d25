package idpsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func startDevice(t *testing.T, hc *http.Client, base string) deviceResponse {
	t.Helper()
	r := post(t, hc, base+"/organizations/oauth2/v2.0/devicecode",
		url.Values{"client_id": {testClient}, "scope": {"offline_access openid User.Read"}})
	if r.Status != http.StatusOK {
		t.Fatalf("devicecode = %d %s; want 200", r.Status, r.Body)
	}
	var d deviceResponse
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func deviceForm(code string) url.Values {
	return url.Values{"grant_type": {deviceGrant}, "client_id": {testClient}, "device_code": {code}}
}

// pollResult is the OAuth error of a poll, "" for tokens.
func pollResult(t *testing.T, hc *http.Client, base, code string) string {
	t.Helper()
	r := post(t, hc, base+"/organizations/oauth2/v2.0/token", deviceForm(code))
	if r.Status == http.StatusOK {
		r.token(t)
		return ""
	}
	return r.errorOf(t).Error
}

func TestDeviceFlowManualApproval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{DeviceInterval: 2 * time.Second})
		hc := s.Client()
		const base = "http://idpsim.test"
		d := startDevice(t, hc, base)
		if !strings.HasPrefix(d.DeviceCode, DevicePrefix) || len(d.UserCode) != 9 || d.Interval != 2 || d.ExpiresIn != 900 ||
			d.VerificationURI != base+"/device" || !strings.Contains(d.Message, d.UserCode) {
			t.Errorf("devicecode response = %+v", d)
		}
		var got []string
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // first poll: pending
		time.Sleep(time.Second)
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // too fast: slow_down, interval 7s
		time.Sleep(5 * time.Second)
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // 5s < 7s: slow_down, interval 12s
		time.Sleep(12 * time.Second)
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // pending
		if err := s.ApproveDevice(strings.ToLower(d.UserCode)); err != nil {
			t.Fatalf("ApproveDevice: %v", err)
		}
		time.Sleep(12 * time.Second)
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // tokens
		time.Sleep(12 * time.Second)
		got = append(got, pollResult(t, hc, base, d.DeviceCode)) // redeemed
		want := []string{"authorization_pending", "slow_down", "slow_down", "authorization_pending", "", "invalid_grant"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("polls (-want +got):\n%s", d)
		}
		if err := s.ApproveDevice(d.UserCode); !errors.Is(err, ErrUnknownUserCode) {
			t.Errorf("ApproveDevice(used code) = %v; want ErrUnknownUserCode", err)
		}
	})
}

func TestDeviceFlowAutoApproveAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{AutoApproveDevice: 3, DeviceInterval: time.Second, DeviceTTL: time.Minute, DefaultSubject: "dev@x.test"})
		hc := s.Client()
		const base = "http://idpsim.test"
		d := startDevice(t, hc, base)
		var got []string
		for range 3 {
			got = append(got, pollResult(t, hc, base, d.DeviceCode))
			time.Sleep(time.Second)
		}
		expiring := startDevice(t, hc, base)
		time.Sleep(time.Minute)
		got = append(got, pollResult(t, hc, base, expiring.DeviceCode))
		got = append(got, pollResult(t, hc, base, "simDC-nope"))
		want := []string{"authorization_pending", "authorization_pending", "", "expired_token", "invalid_grant"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("polls (-want +got):\n%s", d)
		}
		if err := s.ApproveDevice(expiring.UserCode); !errors.Is(err, ErrUnknownUserCode) {
			t.Errorf("ApproveDevice(expired) = %v; want ErrUnknownUserCode", err)
		}
		var subjects []string
		for _, r := range s.Requests() {
			if r.GrantType == deviceGrant && r.Status == 200 {
				subjects = append(subjects, r.Subject)
			}
		}
		if d := cmp.Diff([]string{"dev@x.test"}, subjects); d != "" {
			t.Errorf("successful device redemptions (-want +got):\n%s", d)
		}
	})
}

func TestDevicePageOverHTTP(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	d := startDevice(t, http.DefaultClient, hs.URL)
	if d.VerificationURI != hs.URL+"/device" {
		t.Errorf("verification_uri = %q; want %q", d.VerificationURI, hs.URL+"/device")
	}
	if r := get(t, http.DefaultClient, d.VerificationURI); r.Status != 200 || !strings.Contains(string(r.Body), "user_code") {
		t.Errorf("GET device page = %d; want a form", r.Status)
	}
	if r := post(t, http.DefaultClient, d.VerificationURI, url.Values{"user_code": {"WRONGCODE"}}); r.Status != 400 {
		t.Errorf("POST wrong code = %d; want 400", r.Status)
	}
	if r := post(t, http.DefaultClient, d.VerificationURI, url.Values{"user_code": {d.UserCode}}); r.Status != 200 {
		t.Errorf("POST code = %d; want 200", r.Status)
	}
	tr := post(t, http.DefaultClient, hs.URL+"/organizations/oauth2/v2.0/token", deviceForm(d.DeviceCode)).token(t)
	if _, c := decodeJWT(t, tr.IDToken); c.Subject != "user@idpsim.test" || c.Issuer != hs.URL+"/organizations/v2.0" {
		t.Errorf("id_token sub %q iss %q", c.Subject, c.Issuer)
	}
	if !s.Valid(tr.RefreshToken) {
		t.Errorf("device refresh token not valid")
	}
}

func TestDeviceCodeErrors(t *testing.T) {
	_, hs := startHTTP(t, Options{Clients: []string{testClient}})
	for _, tc := range []struct {
		name string
		form url.Values
		want errorOf
	}{
		{"no scope", url.Values{"client_id": {testClient}}, errorOf{400, "invalid_request", 70011, ""}},
		{"unknown client", url.Values{"client_id": {"x"}, "scope": {"openid"}}, errorOf{400, "unauthorized_client", 700016, ""}},
	} {
		r := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/devicecode", tc.form)
		if d := cmp.Diff(tc.want, r.errorOf(t)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	d := startDevice(t, http.DefaultClient, hs.URL)
	f := deviceForm(d.DeviceCode)
	f.Set("client_id", "x")
	f2 := deviceForm("")
	for _, tc := range []struct {
		form url.Values
		want errorOf
	}{
		{f, errorOf{400, "unauthorized_client", 700016, ""}},
		{f2, errorOf{400, "invalid_request", 900144, ""}},
	} {
		if diff := cmp.Diff(tc.want, post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", tc.form).errorOf(t)); diff != "" {
			t.Errorf("poll (-want +got):\n%s", diff)
		}
	}
}
