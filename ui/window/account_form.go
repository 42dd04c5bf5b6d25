package window

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
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
// scopes) or OpenID Connect (issuer, client id, scopes). It validates as
// the user types (config.Account.Validate), showing the problems of the
// fields already touched; Add shows them all and submits only a valid
// account.
type accountForm struct {
	existing                       []string
	provider                       *widget.RadioGroup
	name, tenant, issuer, clientID *widget.Entry
	scopes                         *widget.Entry
	method                         *widget.RadioGroup
	tenantRow, issuerRow           []fyne.CanvasObject
	msHelp, oidcHelp               fyne.CanvasObject
	problems                       *widget.Label
	submit                         *widget.Button
	touched                        map[string]bool // config keys the user has edited
	content                        fyne.CanvasObject
}

// Where a Microsoft client ID comes from (README.md, "Configure a
// Microsoft account").
const (
	msHelpText = "Every account needs an app registration of its own (a public client, no secret):\n" +
		"1. In the Microsoft Entra admin center, open App registrations → New registration.\n" +
		"2. Platform: Mobile and desktop applications, redirect URI http://localhost.\n" +
		"3. Under Authentication, allow public client flows (needed for the device code).\n" +
		"4. Copy the Application (client) ID from the Overview page into Client ID.\n" +
		"Tenant: your tenant ID or domain, or organizations for any work account."
	oidcHelpText = "Register a public client (no secret) with your provider, with redirect URI http://localhost. " +
		"The issuer is the URL its /.well-known/openid-configuration lives under; the client ID comes from the registration. " +
		"Include offline_access in the scopes if your provider needs it for refresh tokens."
)

// newAccountForm builds the form; submit gets the validated account and
// whether to sign in with a device code.
func newAccountForm(existing []string, submit func(a config.Account, device bool) error) *accountForm {
	f := &accountForm{existing: existing, touched: map[string]bool{}}
	entry := func(key, placeholder string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(placeholder)
		e.OnChanged = func(string) { f.touched[key] = true; f.validate(false) }
		return e
	}
	f.name = entry("name", "work")
	f.tenant = entry("tenant", "organizations, a tenant ID or contoso.onmicrosoft.com")
	f.issuer = entry("issuer", "https://login.example.com")
	f.clientID = entry("client_id", "Application (client) ID")
	f.scopes = entry("scopes", "space-separated, e.g. offline_access openid profile User.Read")
	f.problems = widget.NewLabel("")
	f.problems.Importance = widget.DangerImportance
	f.problems.Wrapping = fyne.TextWrapWord
	f.problems.Hide()
	f.method = widget.NewRadioGroup([]string{choiceBrowser, choiceDevice}, nil)
	f.method.Horizontal = true
	f.method.SetSelected(choiceBrowser)
	help := func(title, text string) fyne.CanvasObject {
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapWord
		return widget.NewAccordion(widget.NewAccordionItem(title, l))
	}
	f.msHelp = help("Where do I get a client ID?", msHelpText)
	f.oidcHelp = help("Where do I get a client ID?", oidcHelpText)

	grid := container.New(layout.NewFormLayout())
	row := func(label string, w fyne.CanvasObject) []fyne.CanvasObject {
		l := widget.NewLabel(label)
		grid.Add(l)
		grid.Add(w)
		return []fyne.CanvasObject{l, w}
	}
	f.provider = widget.NewRadioGroup([]string{choiceMicrosoft, choiceOIDC}, f.providerChanged)
	f.provider.Horizontal = true
	f.provider.Required = true
	row("Provider", f.provider)
	row("Name", f.name)
	f.tenantRow = row("Tenant", f.tenant)
	f.issuerRow = row("Issuer", f.issuer)
	row("Client ID", f.clientID)
	row("Scopes", f.scopes)
	row("Sign in with", f.method)

	f.submit = widget.NewButton("Add and sign in", func() {
		a, ok := f.validate(true)
		if !ok {
			return
		}
		if err := submit(a, f.method.Selected == choiceDevice); err != nil {
			showText(f.problems, err.Error(), true)
			f.content.Refresh()
		}
	})
	f.submit.Importance = widget.HighImportance
	f.content = container.NewVBox(grid, f.msHelp, f.oidcHelp, f.problems)
	f.provider.SetSelected(choiceMicrosoft)
	return f
}

func (f *accountForm) providerChanged(choice string) {
	ms := choice != choiceOIDC
	show := func(on bool, objs ...fyne.CanvasObject) {
		for _, o := range objs {
			if on {
				o.Show()
			} else {
				o.Hide()
			}
		}
	}
	show(ms, f.tenantRow...)
	show(ms, f.msHelp)
	show(!ms, f.issuerRow...)
	show(!ms, f.oidcHelp)
	if f.content != nil {
		f.validate(false)
	}
}

// validate checks the form and shows its problems: all of them when all is
// set, else those of the fields the user has touched.
func (f *accountForm) validate(all bool) (config.Account, bool) {
	a, problems := f.account()
	var shown []string
	for _, p := range problems {
		if all || f.touched[p.Key] {
			shown = append(shown, p.String())
		}
	}
	was := f.problems.Visible()
	showText(f.problems, strings.Join(shown, "\n"), len(shown) > 0)
	if was != f.problems.Visible() {
		f.content.Refresh() // lay out again around the message
	}
	return a, len(problems) == 0
}

// account is the form as a config.Account, with every problem
// config.Account.Validate finds (and a duplicate name).
func (f *accountForm) account() (config.Account, []config.Problem) {
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
	var out []config.Problem
	if slices.Contains(f.existing, a.Name) {
		out = append(out, config.Problem{Key: "name", Value: a.Name, Reason: "an account with this name exists already"})
	}
	var ve *config.ValidationError
	if err := a.Validate(); errors.As(err, &ve) {
		out = append(out, ve.Problems...)
	} else if err != nil {
		out = append(out, config.Problem{Key: "(account)", Reason: err.Error()})
	}
	return a, out
}

// showAddAccount opens the add-account dialog; after Keeper.AddAccount
// succeeds it closes and the sign-in window opens.
func (w *Window) showAddAccount(ctx context.Context) {
	var existing []string
	for _, a := range w.snap.Accounts {
		existing = append(existing, a.Name)
	}
	var d *dialog.CustomDialog
	f := newAccountForm(existing, func(a config.Account, device bool) error {
		if err := w.o.Keeper.AddAccount(ctx, a); err != nil {
			return err
		}
		d.Hide()
		w.showSignInWith(ctx, a.Name, device)
		return nil
	})
	d = dialog.NewCustomWithoutButtons("Add account", f.content, w.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", d.Hide), f.submit})
	d.Resize(fyne.NewSize(520, 480))
	d.Show()
	w.addDialog = f
}

// showSignInWith opens the sign-in window of name and starts signing in.
func (w *Window) showSignInWith(ctx context.Context, name string, device bool) {
	v := w.showSignIn(ctx, name)
	v.start(device)
}

// showSignIn opens the sign-in window of an existing account.
func (w *Window) showSignIn(ctx context.Context, name string) *signInView {
	win := w.app.NewWindow("tokentray — Sign in " + name)
	v := w.newSignInView(ctx, name, win.Close)
	win.SetOnClosed(v.abort)
	win.SetContent(v.content)
	win.Resize(fyne.NewSize(480, 260))
	win.Show()
	return v
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
