package window

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
)

// Provider choices of the add-account form.
const (
	choiceMicrosoft = "Microsoft"
	choiceOIDC      = "OpenID Connect"
	choiceBrowser   = "Browser"
	choiceDevice    = "Device code"
)

// accountForm collects a new account: Microsoft (tenant, client id,
// scopes) or OpenID Connect (issuer, client id, scopes).
type accountForm struct {
	provider                       *widget.RadioGroup
	name, tenant, issuer, clientID *widget.Entry
	scopes                         *widget.Entry
	method                         *widget.RadioGroup
	tenantRow, issuerRow           []fyne.CanvasObject
	problems                       *widget.Label
	submit                         *widget.Button
	content                        fyne.CanvasObject
}

// newAccountForm builds the form; submit gets the validated account and
// whether to sign in with a device code.
func newAccountForm(existing []string, submit func(a config.Account, device bool) error) *accountForm {
	f := &accountForm{}
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("work")
	f.tenant = widget.NewEntry()
	f.tenant.SetPlaceHolder("common, organizations, a tenant ID or contoso.onmicrosoft.com")
	f.issuer = widget.NewEntry()
	f.issuer.SetPlaceHolder("https://login.example.com")
	f.clientID = widget.NewEntry()
	f.clientID.SetPlaceHolder("application (client) ID")
	f.scopes = widget.NewEntry()
	f.scopes.SetPlaceHolder("space-separated, e.g. offline_access openid profile User.Read")
	f.problems = widget.NewLabel("")
	f.problems.Importance = widget.DangerImportance
	f.problems.Wrapping = fyne.TextWrapWord
	f.problems.Hide()
	f.method = widget.NewRadioGroup([]string{choiceBrowser, choiceDevice}, nil)
	f.method.Horizontal = true
	f.method.SetSelected(choiceBrowser)

	grid := container.New(layout.NewFormLayout())
	row := func(label string, w fyne.CanvasObject) []fyne.CanvasObject {
		l := widget.NewLabel(label)
		grid.Add(l)
		grid.Add(w)
		return []fyne.CanvasObject{l, w}
	}
	f.provider = widget.NewRadioGroup([]string{choiceMicrosoft, choiceOIDC}, f.providerChanged)
	f.provider.Horizontal = true
	row("Provider", f.provider)
	row("Name", f.name)
	f.tenantRow = row("Tenant", f.tenant)
	f.issuerRow = row("Issuer", f.issuer)
	row("Client ID", f.clientID)
	row("Scopes", f.scopes)
	row("Sign in with", f.method)
	f.provider.SetSelected(choiceMicrosoft)

	f.submit = widget.NewButton("Add and sign in", func() {
		a, problems := f.account(existing)
		if len(problems) > 0 {
			showText(f.problems, strings.Join(problems, "\n"), true)
			return
		}
		if err := submit(a, f.method.Selected == choiceDevice); err != nil {
			showText(f.problems, err.Error(), true)
			return
		}
		showText(f.problems, "", false)
	})
	f.submit.Importance = widget.HighImportance
	f.content = container.NewVBox(grid, f.problems, container.NewHBox(f.submit))
	return f
}

func (f *accountForm) providerChanged(choice string) {
	ms := choice != choiceOIDC
	for _, o := range f.tenantRow {
		if ms {
			o.Show()
		} else {
			o.Hide()
		}
	}
	for _, o := range f.issuerRow {
		if ms {
			o.Hide()
		} else {
			o.Show()
		}
	}
}

// account is the form as a config.Account, with every problem
// config.Account.Validate finds (and a duplicate name) as text.
func (f *accountForm) account(existing []string) (config.Account, []string) {
	a := config.Account{
		Name:     strings.TrimSpace(f.name.Text),
		ClientID: strings.TrimSpace(f.clientID.Text),
		Scopes:   strings.Fields(f.scopes.Text),
	}
	if len(a.Scopes) == 0 {
		a.Scopes = nil
	}
	if f.provider.Selected == choiceOIDC {
		a.Provider = "oidc"
		a.Issuer = strings.TrimSpace(f.issuer.Text)
	} else {
		a.Provider = "microsoft"
		a.Tenant = strings.TrimSpace(f.tenant.Text)
	}
	var out []string
	for _, n := range existing {
		if n == a.Name {
			out = append(out, "name "+a.Name+": an account with this name exists already")
		}
	}
	var ve *config.ValidationError
	if err := a.Validate(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			out = append(out, p.String())
		}
	} else if err != nil {
		out = append(out, err.Error())
	}
	return a, out
}

// showAddAccount opens the add-account window; after Keeper.AddAccount
// succeeds it turns into the sign-in view.
func (w *Window) showAddAccount(ctx context.Context) {
	win := w.app.NewWindow("tokentray — Add account")
	var existing []string
	for _, a := range w.snap.Accounts {
		existing = append(existing, a.Name)
	}
	f := newAccountForm(existing, func(a config.Account, device bool) error {
		if err := w.o.Keeper.AddAccount(ctx, a); err != nil {
			return err
		}
		v := w.newSignInView(ctx, a.Name, win.Close)
		win.SetOnClosed(v.abort)
		win.SetContent(v.content)
		v.start(device)
		return nil
	})
	win.SetContent(f.content)
	win.Resize(fyne.NewSize(520, 420))
	win.Show()
}

// showSignIn opens the sign-in window of an existing account.
func (w *Window) showSignIn(ctx context.Context, name string) {
	win := w.app.NewWindow("tokentray — Sign in " + name)
	v := w.newSignInView(ctx, name, win.Close)
	win.SetOnClosed(v.abort)
	win.SetContent(v.content)
	win.Resize(fyne.NewSize(480, 260))
	win.Show()
}

// signInView runs Keeper.SignIn and shows its progress: the device code
// with a copy button, or a note that the browser opened.
type signInView struct {
	w                  *Window
	name               string
	status, code       *widget.Label
	browser, device    *widget.Button
	copy, open, cancel *widget.Button
	stop               context.CancelFunc
	startFn            func(device bool)
	content            fyne.CanvasObject
}

func (w *Window) newSignInView(ctx context.Context, name string, closeWin func()) *signInView {
	v := &signInView{w: w, name: name}
	v.status = widget.NewLabel("Sign in " + name + " in your browser, or with a code on any device.")
	v.status.Wrapping = fyne.TextWrapWord
	v.code = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
	v.code.Hide()
	var verify string
	v.copy = widget.NewButton("Copy code", func() { w.app.Clipboard().SetContent(v.code.Text) })
	v.copy.Hide()
	v.open = widget.NewButton("Open page", func() {
		if p, err := url.Parse(verify); err == nil {
			_ = w.app.OpenURL(p)
		}
	})
	v.open.Hide()
	v.browser = widget.NewButton("Open browser", func() { v.start(false) })
	v.device = widget.NewButton("Use a device code", func() { v.start(true) })
	v.cancel = widget.NewButton("Close", func() {
		v.abort()
		closeWin()
	})
	v.content = container.NewVBox(v.status, container.NewHBox(v.browser, v.device),
		v.code, container.NewHBox(v.copy, v.open), layout.NewSpacer(), container.NewHBox(layout.NewSpacer(), v.cancel))
	v.startFn = func(device bool) {
		sctx, stop := context.WithCancel(ctx)
		v.stop = stop
		v.browser.Disable()
		v.device.Disable()
		if device {
			v.status.SetText("Asking the provider for a code…")
		} else {
			v.status.SetText("Finish signing in in the browser window that opened…")
		}
		show := func(code, uri string) {
			w.do(func() {
				verify = uri
				v.status.SetText("On any device, open " + uri + " and enter this code:")
				showText(v.code, code, true)
				v.copy.Show()
				v.open.Show()
			})
		}
		w.wg.Go(func() {
			defer stop()
			err := w.o.Keeper.SignIn(sctx, name, device, show)
			w.do(func() { v.finish(err) })
		})
	}
	return v
}

// abort cancels a running sign-in.
func (v *signInView) abort() {
	if v.stop != nil {
		v.stop()
	}
}

// start begins a sign-in (browser or device code).
func (v *signInView) start(device bool) { v.startFn(device) }

func (v *signInView) finish(err error) {
	v.code.Hide()
	v.copy.Hide()
	v.open.Hide()
	if err != nil {
		v.status.Importance = widget.DangerImportance
		v.status.SetText("Sign-in failed: " + err.Error())
		v.browser.Enable()
		v.device.Enable()
		return
	}
	v.status.Importance = widget.SuccessImportance
	v.status.SetText(v.name + " is signed in.")
	v.cancel.SetText("Done")
}
