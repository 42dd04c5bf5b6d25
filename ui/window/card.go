package window

import (
	"context"
	"fmt"
	"image/color"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
	"github.com/tokentray/tokentray/ui"
)

// card shows one account and its buttons: a state badge (the tray icon of
// the account's state), its name and identity, the state in colour, and the
// next refresh counting down.
type card struct {
	w    *Window
	name string
	box  *widget.Card

	badge                            *canvas.Image
	title                            *widget.RichText
	state                            *widget.Label
	who, next, last, expiry, storage *widget.Label
	errLine, fix, errAt, message     *widget.Label
	copyDetails                      *widget.Button
	errBox, body                     *fyne.Container
	timeline                         *timeline
	refresh, signIn, signOut, remove *widget.Button
	buttons                          *fyne.Container
	badgeState                       ui.TrayState
	status                           state.AccountStatus // shown now
	radarLine                        *widget.Label       // the expiry radar (radar.go)
	scopedLine                       *widget.Label       // per-resource tokens held (scoped.go)
}

// badgeSize is the side of the state badge.
const badgeSize = 36

// newCard builds the card of account name; update fills it.
func newCard(ctx context.Context, w *Window, name string) *card {
	c := &card{w: w, name: name, badgeState: -1}
	label := func() *widget.Label {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	c.badge = canvas.NewImageFromResource(stateIcons[ui.TrayOK])
	c.badge.FillMode = canvas.ImageFillContain
	c.badge.SetMinSize(fyne.NewSquareSize(badgeSize))
	c.title = widget.NewRichText(&widget.TextSegment{Text: name, Style: widget.RichTextStyleSubHeading})
	c.state = widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	c.who, c.next, c.last, c.expiry, c.storage = label(), label(), label(), label(), label()
	c.errLine, c.fix, c.errAt, c.message = label(), label(), label(), label()
	c.who.TextStyle.Bold = true
	c.errLine.TextStyle.Bold = true
	c.copyDetails = widget.NewButton("Copy details", c.copyErrorDetails)
	c.errBox = container.NewVBox(c.errLine, c.fix,
		container.NewBorder(nil, nil, nil, container.NewCenter(c.copyDetails), c.errAt))
	c.message.Hide()
	c.radarLine = newOptionalLine()  // by when the account needs an interactive sign-in
	c.scopedLine = newOptionalLine() // the per-resource tokens the keeper holds (token --scope, the adapters)
	c.timeline = newTimeline()

	c.refresh = widget.NewButton("Refresh now", func() { w.refreshOne(ctx, name) })
	c.signIn = widget.NewButton("Sign in", func() { w.showSignIn(ctx, name) })
	c.signOut = widget.NewButton("Sign out", func() { c.confirmSignOut(ctx) })
	c.remove = widget.NewButton("Remove", func() { c.confirmRemove(ctx) })
	c.buttons = container.NewHBox(c.refresh, c.signIn, c.signOut, c.remove)
	head := container.NewBorder(nil, nil, container.NewCenter(c.badge), c.state, c.title)
	c.body = container.NewVBox(
		head, c.who, c.next, c.radarLine, c.errBox, c.timeline.object(),
		c.last, c.expiry, c.scopedLine, c.storage, c.message, c.buttons)
	c.box = widget.NewCard("", "", container.NewThemeOverride(c.body, compactTheme{}))
	return c
}

// stateIcons are the badges, one per tray state.
var stateIcons = map[ui.TrayState]fyne.Resource{
	ui.TrayOK:         fyne.NewStaticResource("state-ok.png", ui.TrayOK.Icon()),
	ui.TrayRefreshing: fyne.NewStaticResource("state-refreshing.png", ui.TrayRefreshing.Icon()),
	ui.TrayWarning:    fyne.NewStaticResource("state-warning.png", ui.TrayWarning.Icon()),
	ui.TraySignIn:     fyne.NewStaticResource("state-signin.png", ui.TraySignIn.Icon()),
}

// stateImportance colours the state label like the badge.
func stateImportance(st ui.TrayState) widget.Importance {
	switch st {
	case ui.TraySignIn:
		return widget.DangerImportance
	case ui.TrayWarning:
		return widget.WarningImportance
	case ui.TrayRefreshing:
		return widget.MediumImportance
	}
	return widget.SuccessImportance
}

// update shows a at now.
func (c *card) update(a state.AccountStatus, now time.Time) {
	shown := c.rows()
	defer func() {
		if !slices.Equal(shown, c.rows()) { // a row came or went: close the gap
			c.relayout()
		}
	}()
	loc := c.w.loc
	if st := ui.AccountTrayState(a); st != c.badgeState {
		c.badgeState = st
		c.badge.Resource = stateIcons[st]
		c.badge.Refresh()
		c.state.Importance = stateImportance(st)
		c.state.Refresh()
	}
	if txt := ui.StateLabel(a.State); c.state.Text != txt {
		c.state.SetText(txt)
	}

	who := providerText(a)
	if a.State != state.SignedOut {
		who = ui.IdentityText(a.SignedInAs) + " · " + who
	}
	showText(c.who, who, true)
	showText(c.next, ui.NextText(a, now, loc), true)
	c.updateRadar(a, now)
	if a.LastSuccess.IsZero() {
		showText(c.last, "Last refresh: none yet", true)
	} else {
		showText(c.last, "Last refresh "+ui.ClockTime(a.LastSuccess, now, loc)+" — "+ui.FreshText(a.Fresh), true)
	}
	showText(c.expiry, ui.ExpiryText(a.AccessExpiry, now), a.State != state.SignedOut)
	c.updateScoped(a, now)

	if e := a.LastError; e != nil && a.State != state.OK {
		txt, known := errorText(a, now, loc)
		imp := widget.WarningImportance // tokentray retries by itself
		if e.Class == state.ClassPermanent || e.Class == state.ClassStorage {
			imp = widget.DangerImportance // the user has to act
		}
		setImportance(c.errLine, imp)
		showText(c.errLine, txt, true)
		showText(c.fix, ui.FixText(a, now, loc), !known)
		showText(c.errAt, fmt.Sprintf("Last error at %s (%s)", ui.ClockTime(e.At, now, loc), e.Class), true)
		c.copyDetails.Show()
		c.errBox.Show()
	} else if a.State == state.NeedsSignIn && a.Reason != "" {
		setImportance(c.errLine, widget.DangerImportance)
		showText(c.errLine, "Needs sign-in: "+a.Reason, true)
		showText(c.fix, "Fix: sign in again (Sign in).", true)
		showText(c.errAt, "", false)
		c.copyDetails.Hide()
		c.errBox.Show()
	} else {
		c.errBox.Hide()
	}
	c.status = a
	showText(c.storage, ui.StorageText(a.Storage), true)
	c.timeline.update(a, now)

	setEnabled(c.refresh, c.w.connected && ui.CanRefresh(a.State) && a.State != state.Refreshing)
	setEnabled(c.signOut, c.w.connected && a.State != state.SignedOut)
	setEnabled(c.signIn, c.w.connected)
	setEnabled(c.remove, c.w.connected)
	text, imp := "Sign in", widget.MediumImportance
	if a.State == state.NeedsSignIn || a.State == state.SignedOut {
		text, imp = "Sign in again", widget.HighImportance
	}
	if c.signIn.Importance != imp {
		c.signIn.Importance = imp
		c.signIn.Refresh()
	}
	if c.signIn.Text != text {
		c.signIn.SetText(text)
		c.buttons.Refresh() // the button's width changed
	}
}

// providerText names a's provider, and its Microsoft cloud when that is
// not the public one: "Microsoft US Government cloud".
func providerText(a state.AccountStatus) string {
	p := ui.ProviderName(a.Provider)
	if a.Cloud == "" || a.Cloud == wire.DefaultMicrosoftCloud {
		return p
	}
	if c, ok := wire.MicrosoftCloudNamed(a.Cloud); ok {
		return p + " " + c.Title + " cloud"
	}
	return p + " cloud " + a.Cloud
}

// relayout lays the card out again after rows came or went (Fyne does not
// when an object is hidden or shown).
func (c *card) relayout() {
	c.errBox.Refresh()
	c.body.Refresh()
	if c.w.list != nil {
		c.w.list.Refresh()
	}
}

// compactTheme is the current theme with less padding inside the rows, so
// that two accounts fit in the window as it opens.
type compactTheme struct{}

func (compactTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return fyne.CurrentApp().Settings().Theme().Color(n, v)
}
func (compactTheme) Font(s fyne.TextStyle) fyne.Resource {
	return fyne.CurrentApp().Settings().Theme().Font(s)
}
func (compactTheme) Icon(n fyne.ThemeIconName) fyne.Resource {
	return fyne.CurrentApp().Settings().Theme().Icon(n)
}
func (compactTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameInnerPadding {
		return 4
	}
	return fyne.CurrentApp().Settings().Theme().Size(n)
}

// rows says which of the card's rows show.
func (c *card) rows() []bool {
	var out []bool
	for _, objs := range [][]fyne.CanvasObject{c.body.Objects, c.errBox.Objects} {
		for _, o := range objs {
			out = append(out, o.Visible())
		}
	}
	return out
}

// copyErrorDetails puts the details of the account's last error on the
// clipboard, for a support ticket.
func (c *card) copyErrorDetails() {
	if c.status.LastError == nil {
		return
	}
	c.w.app.Clipboard().SetContent(errorDetails(c.status, c.w.o.Info.Version))
	c.say("Error details copied to the clipboard.", false)
}

// say shows the outcome of a button on the card.
func (c *card) say(msg string, bad bool) {
	c.message.Importance = widget.MediumImportance
	if bad {
		c.message.Importance = widget.DangerImportance
	}
	was := c.message.Visible()
	showText(c.message, msg, msg != "")
	if was != c.message.Visible() {
		c.relayout()
	}
}

func (c *card) confirmSignOut(ctx context.Context) {
	w := c.w
	if w.win == nil {
		return
	}
	dialog.ShowConfirm("Sign out "+c.name+"?",
		"tokentray revokes the refresh token where the provider allows it and deletes it from storage.",
		func(ok bool) {
			if !ok {
				return
			}
			w.wg.Go(func() {
				err := w.o.Keeper.SignOut(ctx, c.name)
				msg := "Signed out."
				if err != nil {
					msg = "Sign-out failed: " + err.Error()
				}
				w.do(func() { c.say(msg, err != nil) })
			})
		}, w.win)
}

func (c *card) confirmRemove(ctx context.Context) {
	w := c.w
	if w.win == nil {
		return
	}
	dialog.ShowConfirm("Remove "+c.name+"?",
		"tokentray signs it out, deletes its tokens from storage and removes it from the config file.",
		func(ok bool) {
			if !ok {
				return
			}
			w.wg.Go(func() {
				err := w.o.Keeper.RemoveAccount(ctx, c.name)
				msg := "Removed."
				if err != nil {
					msg = "Remove failed: " + err.Error()
				}
				w.do(func() {
					c.say(msg, err != nil)
				})
			})
		}, w.win)
}

func showText(l *widget.Label, s string, visible bool) {
	if l.Text != s {
		l.SetText(s)
	}
	if visible {
		l.Show()
	} else {
		l.Hide()
	}
}

func setImportance(l *widget.Label, imp widget.Importance) {
	if l.Importance != imp {
		l.Importance = imp
		l.Refresh()
	}
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// renderAccounts shows one card per account, or the empty
// first-run state.
func (w *Window) renderAccounts(ctx context.Context, s state.Snapshot, now time.Time) {
	if w.list == nil {
		return
	}
	names := make([]string, len(s.Accounts))
	for i, a := range s.Accounts {
		names[i] = a.Name
	}
	if len(names) == 0 {
		if w.order == nil || len(w.order) > 0 { // not showing the empty state yet
			w.order = []string{}
			w.cards = map[string]*card{}
			w.list.Objects = []fyne.CanvasObject{w.emptyState(ctx)}
			w.list.Refresh()
		}
		return
	}
	if !slices.Equal(names, w.order) {
		cards := map[string]*card{}
		objs := make([]fyne.CanvasObject, 0, len(names)+1)
		for _, n := range names {
			c, ok := w.cards[n]
			if !ok {
				c = newCard(ctx, w, n)
			}
			cards[n] = c
			objs = append(objs, c.box)
		}
		add := widget.NewButton("Add account", func() { w.showAddAccount(ctx) })
		objs = append(objs, container.NewHBox(add))
		w.cards, w.order = cards, names
		w.list.Objects = objs
		w.list.Refresh()
	}
	for _, a := range s.Accounts {
		w.cards[a.Name].update(a, now)
	}
}

// emptyState is the first-run view: try the demo, or add an account.
func (w *Window) emptyState(ctx context.Context) fyne.CanvasObject {
	title := widget.NewLabelWithStyle("No accounts yet", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	text := widget.NewLabel("tokentray keeps the OAuth tokens of Microsoft and OpenID Connect accounts fresh and shows you when one needs attention. " +
		"Try it first with a simulated provider on this machine, or add your own account.")
	text.Wrapping = fyne.TextWrapWord
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	msg.Hide()
	demo := widget.NewButton("Try the demo account", nil)
	demo.Importance = widget.HighImportance
	demo.OnTapped = func() {
		demo.Disable()
		w.wg.Go(func() {
			err := w.o.Keeper.StartDemo(ctx)
			w.do(func() {
				demo.Enable()
				if err != nil {
					showText(msg, "The demo did not start: "+err.Error(), true)
				}
			})
		})
	}
	add := widget.NewButton("Add account", func() { w.showAddAccount(ctx) })
	return container.NewVBox(title, text, container.NewHBox(demo, add), msg)
}
