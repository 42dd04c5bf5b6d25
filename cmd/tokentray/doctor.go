package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/autostart"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/vault"
)

// check is one line of `tokentray doctor`.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func newDoctorCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the keychain, tray host, settings, clocks and providers; one line each with the fix",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := runDoctor(cmd.Context(), g)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if jsonOut {
				if err := writeJSON(cmd, map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					line := fmt.Sprintf("%s %-18s %s", mark, c.Name, c.Detail)
					if !c.OK && c.Fix != "" {
						line += " — fix: " + c.Fix
					}
					fmt.Fprintln(cmd.OutOrStdout(), line)
				}
			}
			if failed > 0 {
				return &control.CodedError{Code: exitFailure, Err: fmt.Errorf("%d of %d checks failed", failed, len(checks))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func runDoctor(ctx context.Context, g *globals) []check {
	var out []check
	l, err := loadSettings(g, false)
	if err != nil {
		out = append(out, check{Name: "settings", Detail: err.Error(), Fix: "correct the value named above in the file (tokentray config path) or unset the variable"})
		l = &config.Loaded{Settings: config.Defaults()}
	} else {
		out = append(out, check{Name: "settings", OK: true, Detail: fmt.Sprintf("%s valid, %d accounts", l.Path, len(l.Settings.Accounts))})
	}

	dir, derr := keeper.StateDir()
	lockDir, lerr := config.LockDir()
	if lerr != nil {
		out = append(out, check{Name: "locks", Detail: lerr.Error(), Fix: "make sure your home directory exists and is writable"})
	}
	if derr == nil && lerr == nil {
		st := keeper.OpenStore(l.Settings, dir, lockDir)
		pctx, cancel := context.WithTimeout(ctx, l.Settings.Storage.KeychainTimeout+2*time.Second)
		p := st.Probe(pctx)
		cancel()
		c := check{Name: "storage", OK: p.Err == nil, Detail: fmt.Sprintf("%s: %s", p.Kind, p.Status)}
		if p.Err != nil {
			c.Detail += ": " + p.Err.Error()
			switch p.Status {
			case vault.ProbeLocked:
				c.Fix = "unlock your login keyring (GNOME: Passwords and Keys) and run tokentray doctor again"
			default:
				c.Fix = "start a Secret Service (gnome-keyring, KeePassXC) or choose the 0600 file store: tokentray config set storage.backend file"
			}
		}
		out = append(out, c)
	}

	if trayHostPresent() {
		out = append(out, check{Name: "tray host", OK: true, Detail: "a system tray is available"})
	} else {
		out = append(out, check{Name: "tray host", Detail: "no StatusNotifierWatcher on the session bus: the tray icon cannot show (the window opens instead)",
			Fix: "GNOME: install the AppIndicator and KStatusNotifierItem Support extension; headless machines: use tokentray run --headless"})
	}

	if st, err := autostart.Current(); err == nil {
		d := "off"
		if st.Enabled {
			d = "on (" + st.Where + ")"
		}
		out = append(out, check{Name: "start at login", OK: true, Detail: d})
	}

	out = append(out, gitChecks(ctx, l.Settings)...)

	hc := &http.Client{Timeout: 10 * time.Second}
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

func discoveryURL(a config.Account) string {
	switch a.Provider {
	case "microsoft": // at the account's cloud's login host
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
func probeProvider(ctx context.Context, hc *http.Client, name, url string) []check {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return []check{{Name: "provider " + name, Detail: err.Error()}}
	}
	sent := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return []check{{Name: "provider " + name, Detail: "unreachable: " + err.Error(), Fix: "check the network, proxy (HTTPS_PROXY) and the tenant/issuer in the settings"}}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	rtt := time.Since(sent)
	reach := check{Name: "provider " + name, OK: resp.StatusCode == http.StatusOK, Detail: fmt.Sprintf("%s answered %d in %s", hostOf(url), resp.StatusCode, rtt.Round(time.Millisecond))}
	if !reach.OK {
		reach.Fix = "check the tenant or issuer of account " + name
	}
	checks := []check{reach}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		off := d.Sub(sent.Add(rtt / 2)).Round(time.Second)
		c := check{Name: "clock " + name, OK: off < 2*time.Minute && off > -2*time.Minute, Detail: fmt.Sprintf("offset to %s: %s", hostOf(url), off)}
		if !c.OK {
			c.Fix = "turn on automatic time sync (timedatectl set-ntp true)"
		}
		checks = append(checks, c)
	}
	return checks
}

func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

func newAutostartCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autostart enable|disable|status",
		Short: "Start tokentray at login (XDG autostart, macOS LaunchAgent, Windows HKCU Run)",
	}
	enable := &cobra.Command{
		Use:   "enable",
		Short: "Start tokentray at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := loginEntry()
			if err != nil {
				return err
			}
			if err := autostart.Enable(e); err != nil {
				return err
			}
			if err := setAutostartSetting(g, true); err != nil {
				return err
			}
			st, _ := autostart.Current()
			fmt.Fprintf(cmd.OutOrStdout(), "tokentray starts at login (%s)\n", st.Where)
			return nil
		},
	}
	disable := &cobra.Command{
		Use:   "disable",
		Short: "Do not start tokentray at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := autostart.Disable(); err != nil {
				return err
			}
			if err := setAutostartSetting(g, false); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "tokentray no longer starts at login")
			return nil
		},
	}
	var jsonOut bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether tokentray starts at login",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := autostart.Current()
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd, st)
			}
			if st.Enabled {
				fmt.Fprintf(cmd.OutOrStdout(), "on: %s\n", st.Where)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "off (%s does not exist)\n", st.Where)
			}
			return nil
		},
	}
	status.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.AddCommand(enable, disable, status)
	return cmd
}

// setAutostartSetting keeps the autostart setting in the file in step with
// the entry, so the tray (which applies the setting at start) agrees.
func setAutostartSetting(g *globals, on bool) error {
	p, err := configPath(g)
	if err != nil {
		return err
	}
	_, err = config.Set(p, "autostart", fmt.Sprint(on))
	return err
}

// applyAutostart makes the login entry match the autostart setting (the
// settings window's "Start at login"), applied at start like every setting.
func applyAutostart(s config.Settings) error {
	cur, err := autostart.Current()
	if err != nil {
		return err
	}
	if cur.Enabled == s.Autostart {
		return nil
	}
	if !s.Autostart {
		return autostart.Disable()
	}
	e, err := loginEntry()
	if err != nil {
		return err
	}
	return autostart.Enable(e)
}

// loginEntry is what starts the keeper at login. On Windows that is the
// window program with --start-keeper: a GUI-subsystem program that starts
// tokentray.exe (a console program, so `tokentray token` prints to the
// terminal that ran it) without a console window, and exits.
func loginEntry() (autostart.Entry, error) {
	exe, err := os.Executable()
	if err != nil {
		return autostart.Entry{}, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return autostart.Entry{}, err
	}
	if runtime.GOOS == "windows" {
		if w := filepath.Join(filepath.Dir(exe), "tokentray-window.exe"); fileExists(w) {
			return autostart.Entry{Exe: w, Args: []string{"--start-keeper"}}, nil
		}
	}
	return autostart.Entry{Exe: exe}, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
