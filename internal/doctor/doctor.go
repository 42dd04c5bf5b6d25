// Package doctor owns tokentray's self-checks: settings, lock directory,
// token storage, tray host, start at login, git's credential helpers and
// each provider's reachability and clock, one Check each with the fix.
package doctor

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/autostart"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/credential"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/vault"
)

// Check is one line of `tokentray doctor`.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options are what Run checks.
type Options struct {
	// Loaded are the settings as read, or LoadErr why they could not be;
	// with LoadErr the rest is checked with the defaults.
	Loaded  *config.Loaded
	LoadErr error
	// TrayHost: a system tray can show the icon (the caller asks the
	// session bus).
	TrayHost bool
	// HTTP fetches the providers' discovery documents (nil: a client with
	// a 10 s timeout).
	HTTP *http.Client
}

// Run runs every check, in the order doctor prints them; failed checks say
// how to fix them.
func Run(ctx context.Context, o Options) []Check {
	var out []Check
	l := o.Loaded
	if o.LoadErr != nil || l == nil {
		detail := "no settings were read"
		if o.LoadErr != nil {
			detail = o.LoadErr.Error()
		}
		out = append(out, Check{Name: "settings", Detail: detail, Fix: "correct the value named above in the file (tokentray config path) or unset the variable"})
		l = &config.Loaded{Settings: config.Defaults()}
	} else {
		out = append(out, Check{Name: "settings", OK: true, Detail: fmt.Sprintf("%s valid, %d accounts", l.Path, len(l.Settings.Accounts))})
	}

	dir, derr := keeper.StateDir()
	lockDir, lerr := config.LockDir()
	if lerr != nil {
		out = append(out, Check{Name: "locks", Detail: lerr.Error(), Fix: "make sure your home directory exists and is writable"})
	}
	if derr == nil && lerr == nil {
		out = append(out, storageCheck(ctx, l.Settings, dir, lockDir))
	}

	if o.TrayHost {
		out = append(out, Check{Name: "tray host", OK: true, Detail: "a system tray is available"})
	} else {
		out = append(out, Check{Name: "tray host", Detail: "no StatusNotifierWatcher on the session bus: the tray icon cannot show (the window opens instead)",
			Fix: "GNOME: install the AppIndicator and KStatusNotifierItem Support extension; headless machines: use tokentray run --headless"})
	}

	if st, err := autostart.Current(); err == nil {
		d := "off"
		if st.Enabled {
			d = "on (" + st.Where + ")"
		}
		out = append(out, Check{Name: "start at login", OK: true, Detail: d})
	}

	for _, r := range credential.GitRemotes(l.Settings.Git.Credentials) {
		c := credential.GitConfig{}.CheckRemote(ctx, r)
		out = append(out, Check{Name: "git " + r.URL(), OK: c.OK, Detail: c.Detail, Fix: c.Fix})
	}

	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	seen := map[string]bool{}
	for _, a := range l.Settings.Accounts {
		url := discoveryURL(a)
		if url == "" || seen[url] {
			continue
		}
		seen[url] = true
		out = append(out, probeProvider(ctx, hc, a.Name, url)...)
	}
	return out
}

// storageCheck probes the configured token storage without a prompt.
func storageCheck(ctx context.Context, s config.Settings, dir, lockDir string) Check {
	st := keeper.OpenStore(s, dir, lockDir)
	pctx, cancel := context.WithTimeout(ctx, s.Storage.KeychainTimeout+2*time.Second)
	p := st.Probe(pctx)
	cancel()
	c := Check{Name: "storage", OK: p.Err == nil, Detail: fmt.Sprintf("%s: %s", p.Kind, p.Status)}
	if p.Err != nil {
		c.Detail += ": " + p.Err.Error()
		switch p.Status {
		case vault.ProbeLocked:
			c.Fix = "unlock your login keyring (GNOME: Passwords and Keys) and run tokentray doctor again"
		default:
			c.Fix = "start a Secret Service (gnome-keyring, KeePassXC) or choose the 0600 file store: tokentray config set storage.backend file"
		}
	}
	return c
}

// discoveryURL is the OpenID discovery document of account a's provider,
// "" for a provider that has none.
func discoveryURL(a config.Account) string {
	switch a.Provider {
	case "microsoft": // at the account's cloud's login host
		a.ClientID = cmp.Or(a.ClientID, "any") // the document is the tenant's, whatever the client
		p, err := keeper.Profile(a)
		if err != nil {
			return ""
		}
		return p.Endpoints.Issuer + "/.well-known/openid-configuration"
	case "oidc":
		return strings.TrimRight(a.Issuer, "/") + "/.well-known/openid-configuration"
	}
	return ""
}

// probeProvider fetches the provider's discovery document: reachability and
// the clock offset from its Date header (a clock off by minutes makes tokens
// look expired or not yet valid).
func probeProvider(ctx context.Context, hc *http.Client, name, url string) []Check {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return []Check{{Name: "provider " + name, Detail: err.Error()}}
	}
	sent := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return []Check{{Name: "provider " + name, Detail: "unreachable: " + err.Error(), Fix: "check the network, proxy (HTTPS_PROXY) and the tenant/issuer in the settings"}}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	rtt := time.Since(sent)
	reach := Check{Name: "provider " + name, OK: resp.StatusCode == http.StatusOK, Detail: fmt.Sprintf("%s answered %d in %s", hostOf(url), resp.StatusCode, rtt.Round(time.Millisecond))}
	if !reach.OK {
		reach.Fix = "check the tenant or issuer of account " + name
	}
	checks := []Check{reach}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		off := d.Sub(sent.Add(rtt / 2)).Round(time.Second)
		c := Check{Name: "clock " + name, OK: off < 2*time.Minute && off > -2*time.Minute, Detail: fmt.Sprintf("offset to %s: %s", hostOf(url), off)}
		if !c.OK {
			c.Fix = "turn on automatic time sync (timedatectl set-ntp true)"
		}
		checks = append(checks, c)
	}
	return checks
}

// hostOf is the host of an http(s) URL, for the checks' details.
func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}
