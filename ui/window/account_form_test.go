package window

import (
	"context"
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/internal/config"
)

func TestAccountForm(t *testing.T) {
	for _, tc := range []struct {
		name                                 string
		provider                             string
		acct, tenant, issuer, client, scopes string
		want                                 *config.Account // nil: refused
		problem                              string
	}{
		{name: "microsoft", provider: choiceMicrosoft, acct: "work", tenant: "organizations", client: "11111111-2222-3333-4444-555555555555", scopes: "offline_access  User.Read",
			want: &config.Account{Name: "work", Provider: "microsoft", Tenant: "organizations", ClientID: "11111111-2222-3333-4444-555555555555", Scopes: []string{"offline_access", "User.Read"}}},
		{name: "oidc", provider: choiceOIDC, acct: "home", tenant: "ignored", issuer: "https://login.example.com", client: "cli",
			want: &config.Account{Name: "home", Provider: "oidc", Issuer: "https://login.example.com", ClientID: "cli"}},
		{name: "missing client id", provider: choiceMicrosoft, acct: "work",
			problem: `client_id = "": missing; allowed: the application (client) ID of your app registration`},
		{name: "duplicate", provider: choiceMicrosoft, acct: "taken", client: "11111111-2222-3333-4444-555555555555",
			problem: `name = "taken": an account with this name exists already`},
		{name: "plain http issuer", provider: choiceOIDC, acct: "home", issuer: "http://login.example.com", client: "cli"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			var got *config.Account
			var device bool
			f := newAccountForm([]string{"taken"}, func(a config.Account, d bool) error {
				got, device = &a, d
				return nil
			})
			w := test.NewWindow(f.content)
			defer w.Close()
			f.provider.SetSelected(tc.provider)
			f.method.SetSelected(choiceDevice)
			for e, s := range map[*widget.Entry]string{f.name: tc.acct, f.tenant: tc.tenant, f.issuer: tc.issuer, f.clientID: tc.client, f.scopes: tc.scopes} {
				test.Type(e, s)
			}
			test.Tap(f.submit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("submitted account (-want +got):\n%s\nproblems: %s", diff, f.problems.Text)
			}
			if tc.want != nil && !device {
				t.Errorf("device code choice was lost")
			}
			if tc.want == nil && !f.problems.Visible() {
				t.Errorf("refused form shows no problem")
			}
			if tc.problem != "" && f.problems.Text != tc.problem {
				t.Errorf("problems = %q; want %q", f.problems.Text, tc.problem)
			}
		})
	}
}

// Problems show while typing, for the fields already touched.
func TestAccountFormValidatesAsYouType(t *testing.T) {
	test.NewTempApp(t)
	f := newAccountForm(nil, func(config.Account, bool) error { return nil })
	w := test.NewWindow(f.content)
	defer w.Close()
	if f.problems.Visible() {
		t.Errorf("an untouched form shows problems: %q", f.problems.Text)
	}
	test.Type(f.name, "work")
	if f.problems.Visible() {
		t.Errorf("a valid name shows problems: %q", f.problems.Text)
	}
	f.provider.SetSelected(choiceOIDC)
	test.Type(f.issuer, "http://login.example.com")
	if !f.problems.Visible() || !strings.HasPrefix(f.problems.Text, "issuer = ") {
		t.Errorf("a plain-http issuer shows %q (visible %v); want the issuer problem", f.problems.Text, f.problems.Visible())
	}
	if strings.Contains(f.problems.Text, "client_id") {
		t.Errorf("the untouched client ID is reported already: %q", f.problems.Text)
	}
	if f.tenant.Visible() || !f.issuer.Visible() || f.msHelp.Visible() || !f.oidcHelp.Visible() {
		t.Errorf("OpenID Connect shows the Microsoft fields or help")
	}
}

func TestAddAccountDialog(t *testing.T) {
	k := &fakeKeeper{}
	w, win := newTestWindow(t, Options{Keeper: k})
	w.render(t.Context(), snap(okAccount("work")))
	test.Tap(findButton(t, win.Content(), "Add account"))
	d := win.Canvas().Overlays().Top()
	if d == nil {
		t.Fatal("Add account opened no dialog")
	}
	found := false
	for _, o := range test.LaidOutObjects(d) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Add account" {
			found = true
		}
	}
	if !found {
		t.Errorf("the dialog has no title")
	}
	test.Tap(findButton(t, d, "Cancel"))
	if win.Canvas().Overlays().Top() != nil {
		t.Errorf("Cancel left the dialog open")
	}
	if len(k.called()) != 0 {
		t.Errorf("Cancel called the keeper: %v", k.called())
	}

	test.Tap(findButton(t, win.Content(), "Add account"))
	f := w.addDialog
	test.Type(f.name, "home")
	test.Type(f.clientID, "11111111-2222-3333-4444-555555555555")
	test.Tap(f.submit)
	w.wg.Wait()
	if diff := cmp.Diff([]string{"add home", "sign in home device=false"}, k.called()); diff != "" {
		t.Errorf("keeper calls (-want +got):\n%s", diff)
	}
	if win.Canvas().Overlays().Top() != nil {
		t.Errorf("the dialog stays open after the account was added")
	}
}

// The dialog over the window, after a refused add.
func TestAccountFormGolden(t *testing.T) {
	w, win := newTestWindow(t, Options{Keeper: &fakeKeeper{err: errors.New("config file is read-only")}})
	win.Resize(fyne.NewSize(560, 640))
	w.render(t.Context(), snap(okAccount("work")))
	w.showAddAccount(t.Context())
	f := w.addDialog
	test.Type(f.name, "home")
	test.Type(f.clientID, "11111111-2222-3333-4444-555555555555")
	test.Tap(f.submit)
	assertGolden(t, "add_account.xml", win.Canvas())
}

func TestSignInDeviceCode(t *testing.T) {
	release := make(chan error)
	var gotName string
	var gotDevice bool
	w, _ := newTestWindow(t, Options{Keeper: &fakeKeeper{signIn: func(ctx context.Context, name string, device bool, show func(code, url string)) error {
		gotName, gotDevice = name, device
		show("ABCD-EFGH", "https://microsoft.com/devicelogin")
		return <-release
	}}})
	v := w.newSignInView(t.Context(), "work", func() {})
	test.NewWindow(v.content)
	v.start(true)
	release <- nil
	w.wg.Wait()
	if gotName != "work" || !gotDevice {
		t.Errorf("SignIn(%q, device=%v); want (work, true)", gotName, gotDevice)
	}
	if want := "work is signed in."; v.status.Text != want {
		t.Errorf("status = %q; want %q", v.status.Text, want)
	}
	if v.cancel.Text != "Done" {
		t.Errorf("close button says %q; want Done", v.cancel.Text)
	}
}

func TestSignInShowsCodeAndCopies(t *testing.T) {
	shown := make(chan struct{})
	release := make(chan struct{})
	w, _ := newTestWindow(t, Options{Keeper: &fakeKeeper{signIn: func(ctx context.Context, name string, device bool, show func(code, url string)) error {
		show("ABCD-EFGH", "https://microsoft.com/devicelogin")
		close(shown)
		<-release
		return errors.New("the code expired")
	}}})
	v := w.newSignInView(t.Context(), "work", func() {})
	test.NewWindow(v.content)
	v.start(true)
	<-shown
	if !v.code.Visible() || v.code.Text != "ABCD-EFGH" {
		t.Errorf("code label = %q (visible %v); want ABCD-EFGH", v.code.Text, v.code.Visible())
	}
	test.Tap(v.copy)
	if got := w.app.Clipboard().Content(); got != "ABCD-EFGH" {
		t.Errorf("clipboard = %q after Copy code; want ABCD-EFGH", got)
	}
	close(release)
	w.wg.Wait()
	if want := "Sign-in failed: the code expired"; v.status.Text != want {
		t.Errorf("status = %q; want %q", v.status.Text, want)
	}
	if v.browser.Disabled() || v.device.Disabled() {
		t.Errorf("after a failed sign-in the retry buttons stay disabled")
	}
}
