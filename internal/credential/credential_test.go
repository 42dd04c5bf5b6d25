package credential

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseGitRequest(t *testing.T) {
	tests := []struct {
		name, in string
		want     GitRequest
	}{
		{"get from git 2.39", "protocol=https\nhost=dev.azure.com\npath=org/proj/_git/repo\nusername=me\n\n",
			GitRequest{Protocol: "https", Host: "dev.azure.com", Path: "org/proj/_git/repo", Username: "me"}},
		{"end of input instead of a blank line", "protocol=http\nhost=127.0.0.1:8080",
			GitRequest{Protocol: "http", Host: "127.0.0.1:8080"}},
		{"stops at the blank line", "host=a.example\n\nhost=b.example\n", GitRequest{Host: "a.example"}},
		{"CRLF lines", "protocol=https\r\nhost=x.example\r\n\r\n", GitRequest{Protocol: "https", Host: "x.example"}},
		{"value keeps later '='", "host=x.example\nusername=a=b\n", GitRequest{Host: "x.example", Username: "a=b"}},
		{"password and unknown keys dropped", "host=x.example\npassword=hunter2\npassword_expiry_utc=1\nfuture=1\n",
			GitRequest{Host: "x.example"}},
		{"capabilities and wwwauth", "capability[]=authtype\ncapability[]=state\nwwwauth[]=Basic realm=\"x\"\nhost=x.example\n",
			GitRequest{Host: "x.example", Capabilities: []string{"authtype", "state"}, WWWAuth: []string{`Basic realm="x"`}}},
		{"empty [] value clears", "capability[]=authtype\ncapability[]=\n", GitRequest{}},
		{"url sets the parts", "url=https://me@dev.azure.com/org/repo\n",
			GitRequest{Protocol: "https", Host: "dev.azure.com", Path: "org/repo", Username: "me"}},
		{"later key wins", "host=a.example\nhost=b.example\n", GitRequest{Host: "b.example"}},
		{"empty input", "", GitRequest{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGitRequest(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseGitRequest(%q) error: %v", tc.in, err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseGitRequest(%q) mismatch (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func TestParseGitRequestRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
		notInErr       string
	}{
		{"line without =", "host=x\nsimAT-pasted-token-value\n", "line 2 is not key=value", "simAT-pasted"},
		{"empty key", "=value\n", "line 1 is not key=value", ""},
		{"NUL byte", "host=x\x00y\n", "line 1 contains a NUL byte", ""},
		{"relative url", "url=dev.azure.com/org\n", "url is not an absolute URL", "dev.azure.com"},
		{"too large", "wwwauth[]=" + strings.Repeat("a", MaxGitRequest) + "\n", "larger than 64 KiB", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGitRequest(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseGitRequest error = %v; want one containing %q", err, tc.want)
			}
			if tc.notInErr != "" && strings.Contains(err.Error(), tc.notInErr) {
				t.Errorf("error %q repeats the input %q", err, tc.notInErr)
			}
		})
	}
}

func TestWriteGitAnswer(t *testing.T) {
	var b bytes.Buffer
	exp := time.Unix(1700000000, 0)
	if err := WriteGitAnswer(&b, GitAnswer{Username: "tokentray", Password: "tok", PasswordExpiry: exp}); err != nil {
		t.Fatal(err)
	}
	if want := "username=tokentray\npassword=tok\npassword_expiry_utc=1700000000\n"; b.String() != want {
		t.Errorf("WriteGitAnswer printed %q; want %q", b.String(), want)
	}
	for _, a := range []GitAnswer{{Username: "u", Password: "a\nb"}, {Username: "u\n", Password: "p"}, {Username: "u"}} {
		var b bytes.Buffer
		err := WriteGitAnswer(&b, a)
		if err == nil || b.Len() != 0 {
			t.Errorf("WriteGitAnswer(%q, ...) = %v, printed %q; want an error and nothing printed", a.Username, err, b.String())
		}
		if err != nil && strings.Contains(err.Error(), "a\nb") {
			t.Errorf("error %q repeats the password", err)
		}
	}
}

func TestParseExecInfo(t *testing.T) {
	got, err := ParseExecInfo(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ExecInfo{APIVersion: ExecV1beta1, Interactive: true}); got != want {
		t.Errorf("ParseExecInfo = %+v; want %+v", got, want)
	}
	bad := []struct{ in, want string }{
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`, "v1alpha1\" is not supported; allowed: v1"},
		{`{"kind":"Pod","apiVersion":"v1"}`, `kind "Pod"; want ExecCredential`},
		{`not json`, "not an ExecCredential JSON object: syntax error"},
		{`{"kind":7}`, "wrong type"},
		{`{"kind":"ExecCredential"}`, `apiVersion "" is not supported`},
	}
	for _, tc := range bad {
		if _, err := ParseExecInfo(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseExecInfo(%q) error = %v; want one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestExecCredential(t *testing.T) {
	exp := time.Date(2026, 12, 6, 21, 30, 15, 999, time.FixedZone("x", 3600))
	for _, v := range []string{"v1", ExecV1beta1} {
		b, err := ExecCredential(v, "tok", exp)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		full, _ := ExecAPIVersion(v)
		want := map[string]any{"apiVersion": full, "kind": "ExecCredential",
			"status": map[string]any{"token": "tok", "expirationTimestamp": "2026-12-06T20:30:15Z"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("ExecCredential(%s) mismatch (-want +got):\n%s", v, d)
		}
	}
	if _, err := ExecCredential("v2", "tok", exp); err == nil || !strings.Contains(err.Error(), "allowed: v1") {
		t.Errorf("ExecCredential(v2) error = %v; want the allowed versions", err)
	}
}

func FuzzParseGitRequest(f *testing.F) {
	f.Add("protocol=https\nhost=dev.azure.com\npath=org/x\nusername=u\n\n")
	f.Add("url=https://u@h/p\ncapability[]=authtype\nwwwauth[]=Bearer\n")
	f.Add("=\n\x00\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ParseGitRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		// Nothing git sent may come back holding a line break or NUL: the
		// adapter prints some of these fields back.
		for _, v := range []string{req.Protocol, req.Host, req.Path, req.Username} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("ParseGitRequest(%q) kept a field with a newline or NUL: %q", in, v)
			}
		}
	})
}

func FuzzParseExecInfo(f *testing.F) {
	f.Add(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`)
	f.Add(`{"kind":"ExecCredential","apiVersion":"v1beta1"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		info, err := ParseExecInfo(in)
		if err != nil {
			return
		}
		if info.APIVersion != ExecV1 && info.APIVersion != ExecV1beta1 {
			t.Fatalf("ParseExecInfo(%q) accepted apiVersion %q", in, info.APIVersion)
		}
	})
}

func TestExecExpiry(t *testing.T) {
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name         string
		expiry, want time.Time
	}{
		{"an hour left: a minute earlier", now.Add(time.Hour), now.Add(time.Hour - ExecExpirySkew)},
		{"just over the skew left: a minute earlier", now.Add(ExecExpirySkew + time.Second), now.Add(time.Second)},
		{"exactly the skew left: the expiry", now.Add(ExecExpirySkew), now.Add(ExecExpirySkew)},
		{"less than the skew left: the expiry", now.Add(30 * time.Second), now.Add(30 * time.Second)},
		{"expired: the expiry", now.Add(-time.Minute), now.Add(-time.Minute)},
	} {
		if got := ExecExpiry(c.expiry, now); !got.Equal(c.want) {
			t.Errorf("%s: ExecExpiry(%s, %s) = %s; want %s", c.name, c.expiry, now, got, c.want)
		}
	}
}
