package oauth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// msIDToken carries the payload of a Microsoft identity platform v2.0 ID
// token (the claims such a token usually has).
var msIDToken = idTokenWith(`{"aud":"6731de76-14a6-49ae-97bc-6eba6914391e","iss":"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0","iat":1796107916,"nbf":1796107916,"exp":1796111816,"name":"Ada Lovelace","oid":"00000000-0000-0000-66f3-3332eca7ea81","preferred_username":"ada@contoso.com","rh":"0.AAAA","sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","tid":"9188040d-6c67-4c5b-b112-36a304b66dad","uti":"abc","ver":"2.0"}`)

// BenchmarkParseClaims decodes the display claims of one ID token, as every
// refresh that returns an ID token does.
func BenchmarkParseClaims(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if c := parseClaims(msIDToken); c.Subject == "" {
			b.Fatalf("parseClaims = %+v; want a subject", c)
		}
	}
}

// FuzzClaims checks the ID-token claims decoder on any payload: what is not
// valid JSON gives zero Claims; every claim it returns is the string value of
// a top-level key naming that claim (ignoring case, as encoding/json
// matches); and a payload that encoding/json builds around the fuzz input as
// the name gives back that name through the whole ID-token path (base64url,
// escapes, non-ASCII, invalid UTF-8 replaced).
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"https://login.microsoftonline.com/t/v2.0","name":"Ada","preferred_username":"ada@x","tid":"t","sub":"s","iat":1796107916,"ver":"2.0"}`))
	f.Add([]byte(` { "name" : null , "Name":"x", "exp": -1.5e+3, "ok": true } `))
	f.Add([]byte(`{"name":"Zo\u00eb","sub":"s","roles":["a"]}`))
	f.Add([]byte(`{"sub":1}`))
	f.Add([]byte(`{"name":"a","name":null,"NAME":"b","sub":"s"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := parseClaims(idTokenWith(string(raw)))
		if got != (Claims{}) {
			if !json.Valid(raw) {
				t.Fatalf("parseClaims(%q) = %+v from invalid JSON; want zero Claims", raw, got)
			}
			values, err := topLevel(raw)
			if err != nil {
				t.Fatalf("parseClaims(%q) = %+v from a payload that is not an object: %v", raw, got, err)
			}
			for key, v := range map[string]string{"name": got.Name, "preferred_username": got.PreferredUsername, "tid": got.TenantID, "sub": got.Subject} {
				if v != "" && !hasString(values, key, v) {
					t.Fatalf("parseClaims(%q) gives %s %q, which no key naming it holds", raw, key, v)
				}
			}
		}

		name := string(raw)
		payload, err := json.Marshal(map[string]any{"name": name, "sub": "s", "iat": 1796107916, "roles": []string{"a"}})
		if err != nil {
			t.Fatal(err)
		}
		want := Claims{Name: string([]rune(name)), Subject: "s"} // invalid bytes become U+FFFD, one each
		if got := parseClaims(idTokenWith(string(payload))); got != want {
			t.Fatalf("parseClaims(payload %s) = %+v; want %+v", payload, got, want)
		}
	})
}

// keyValue is one member of a JSON object, in document order.
type keyValue struct {
	key   string
	value json.RawMessage
}

// topLevel lists the members of the JSON object in raw, duplicates included.
func topLevel(raw []byte) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &json.UnsupportedValueError{Str: "not an object"}
	}
	var out []keyValue
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, keyValue{tok.(string), v})
	}
	return out, nil
}

// hasString reports whether a member whose key equals claim ignoring case
// holds the JSON string want.
func hasString(members []keyValue, claim, want string) bool {
	for _, m := range members {
		var s string
		if strings.EqualFold(m.key, claim) && json.Unmarshal(m.value, &s) == nil && s == want {
			return true
		}
	}
	return false
}
