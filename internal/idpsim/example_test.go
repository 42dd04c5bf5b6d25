package idpsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// A refresh against the simulator over HTTP, then an injected throttle.
func Example() {
	sim := idpsim.New(idpsim.Options{Rotation: idpsim.Strict})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	token := idpsim.EndpointsFor(hs.URL, "common").Token

	rt := sim.Grant("my-client", "ada@contoso.test", []string{"offline_access", "User.Read"})
	resp, err := http.PostForm(token, url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"my-client"}, "refresh_token": {rt},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.HasPrefix(tr.RefreshToken, idpsim.RefreshPrefix), tr.ExpiresIn)
	fmt.Println("old token valid:", sim.Valid(rt), "new token valid:", sim.Valid(tr.RefreshToken))

	sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: 30 * time.Second})
	resp, err = http.PostForm(token, url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"my-client"}, "refresh_token": {tr.RefreshToken},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), sim.Refreshes("ada@contoso.test"))
	// Output:
	// 200 true 3600
	// old token valid: false new token valid: true
	// 429 30 1
}
