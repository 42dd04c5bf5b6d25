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
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/engine"
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
	errLine, fix, message            *widget.Label
	timeline                         *timeline
	refresh, signIn, signOut, remove *widget.Button
	buttons                          *fyne.Container
	badgeState                       ui.TrayState
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
	c.errLine, c.fix, c.message = label(), label(), label()
	c.who.TextStyle.Bold = true
	c.errLine.Importance = widget.DangerImportance
	c.message.Hide()
	c.timeline = newTimeline()

	c.refresh = widget.NewButton("Refresh now", func() { w.refreshOne(ctx, name) })
	c.signIn = widget.NewButton("Sign in", func() { w.showSignIn(ctx, name) })
	c.signOut = widget.NewButton("Sign out", func() { c.confirmSignOut(ctx) })
	c.remove = widget.NewButton("Remove", func() { c.confirmRemove(ctx) })
	c.buttons = container.NewHBox(c.refresh, c.signIn, c.signOut, c.remove)
	head := container.NewBorder(nil, nil, container.NewCenter(c.badge), c.state, c.title)
	c.box = widget.NewCard("", "", container.NewVBox(
		head, c.who, c.next, c.errLine, c.fix, c.timeline.object(),
		c.last, c.expiry, c.storage, c.message, c.buttons))
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
func (c *card) update(a engine.AccountStatus, now time.Time) {
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

	who := ui.ProviderName(a.Provider)
	if a.State != engine.SignedOut {
		who = ui.IdentityText(a.SignedInAs) + " · " + who
	}
	showText(c.who, who, true)
	showText(c.next, ui.NextText(a, now, loc), true)
	if a.LastSuccess.IsZero() {
		showText(c.last, "Last refresh: none yet", true)
	} else {
		showText(c.last, "Last refresh "+ui.ClockTime(a.LastSuccess, now, loc)+" — "+ui.FreshText(a.Fresh), true)
	}
	showText(c.expiry, ui.ExpiryText(a.AccessExpiry, now), a.State != engine.SignedOut)

	if e := a.LastError; e != nil && a.State != engine.OK {
		txt := fmt.Sprintf("Last error at %s (%s): %s", ui.ClockTime(e.At, now, loc), e.Class, e.Message)
		if a.Reason != "" && a.Reason != e.Message {
			txt += " — " + a.Reason
		}
		showText(c.errLine, txt, true)
		showText(c.fix, ui.FixText(a, now, loc), true)
	} else if a.State == engine.NeedsSignIn && a.Reason != "" {
		showText(c.errLine, "Needs sign-in: "+a.Reason, true)
		showText(c.fix, "Fix: sign in again (Sign in).", true)
	} else {
		showText(c.errLine, "", false)
		showText(c.fix, "", false)
	}
	showText(c.storage, ui.StorageText(a.Storage), true)
	c.timeline.update(a, now)

	setEnabled(c.refresh, c.w.connected && ui.CanRefresh(a.State) && a.State != engine.Refreshing)
	setEnabled(c.signOut, c.w.connected && a.State != engine.SignedOut)
	setEnabled(c.signIn, c.w.connected)
	setEnabled(c.remove, c.w.connected)
	text, imp := "Sign in", widget.MediumImportance
	if a.State == engine.NeedsSignIn || a.State == engine.SignedOut {
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

// say shows the outcome of a button on the card.
func (c *card) say(msg string, bad bool) {
	c.message.Importance = widget.MediumImportance
	if bad {
		c.message.Importance = widget.DangerImportance
	}
	showText(c.message, msg, msg != "")
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

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// renderAccounts shows one card per account, or the empty
// first-run state.
func (w *Window) renderAccounts(ctx context.Context, s engine.Snapshot, now time.Time) {
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

// timeline draws an account's last 24 h: access-token validity as bars and
// each refresh attempt as a mark (ok or failed).
type timeline struct {
	lay   *spanLayout
	track *fyne.Container
	box   fyne.CanvasObject
}

const timelineSpan = 24 * time.Hour

var (
	colorTrack  = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x30}
	colorValid  = color.NRGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0x80}
	colorOK     = color.NRGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0xff}
	colorFailed = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
)

func newTimeline() *timeline {
	t := &timeline{lay: &spanLayout{}}
	t.track = container.New(t.lay)
	left := canvas.NewText("24 h ago", color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff})
	left.TextSize = 10
	right := canvas.NewText("now", color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff})
	right.TextSize = 10
	t.box = container.NewVBox(t.track, container.NewHBox(left, layout.NewSpacer(), right))
	return t
}

func (t *timeline) object() fyne.CanvasObject { return t.box }

// update redraws the timeline for a at now.
func (t *timeline) update(a engine.AccountStatus, now time.Time) {
	spans := timelineSpans(a, now)
	if slices.Equal(spans, t.lay.spans) {
		return
	}
	if len(t.track.Objects) != len(spans) {
		objs := make([]fyne.CanvasObject, len(spans))
		for i := range spans {
			objs[i] = canvas.NewRectangle(spans[i].color)
		}
		t.track.Objects = objs
	}
	for i, s := range spans {
		t.track.Objects[i].(*canvas.Rectangle).FillColor = s.color
	}
	t.lay.spans = spans
	t.track.Refresh()
}

// span is one drawn piece of a timeline, in fractions of its width and
// height (0 = 24 h ago, 1 = now).
type span struct {
	from, to   float32
	top, level float32 // vertical extent: top offset and height, as fractions
	color      color.NRGBA
}

// timelineSpans lays out a's history at now: first the track, then the
// validity bars (lower part), then the refresh marks (full height). The
// current access token's validity is drawn from its refresh to now.
func timelineSpans(a engine.AccountStatus, now time.Time) []span {
	start := now.Add(-timelineSpan)
	frac := func(t time.Time) float32 {
		f := float32(t.Sub(start)) / float32(timelineSpan)
		return min(max(f, 0), 1)
	}
	out := []span{{from: 0, to: 1, top: 0, level: 1, color: colorTrack}}
	var marks []span
	for _, e := range a.History {
		if e.At.Before(start) && (e.Expiry.IsZero() || e.Expiry.Before(start)) {
			continue
		}
		if e.Kind == engine.EventOK && !e.Expiry.IsZero() && e.Expiry.After(start) {
			end := e.Expiry
			if end.After(now) {
				end = now
			}
			out = append(out, span{from: frac(e.At), to: frac(end), top: 0.5, level: 0.5, color: colorValid})
		}
		if e.At.Before(start) {
			continue
		}
		c := colorOK
		if e.Kind != engine.EventOK {
			c = colorFailed
		}
		x := frac(e.At)
		marks = append(marks, span{from: x, to: x, top: 0, level: 1, color: c})
	}
	return append(out, marks...)
}

// spanLayout places each object at its span; a zero-width span is a 2 px
// mark.
type spanLayout struct{ spans []span }

const timelineHeight = 16

func (l *spanLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for i, o := range objs {
		if i >= len(l.spans) {
			o.Hide()
			continue
		}
		s := l.spans[i]
		w := (s.to - s.from) * size.Width
		x := s.from * size.Width
		if w < 2 {
			w = 2
			x = min(max(x-1, 0), size.Width-2)
		}
		o.Move(fyne.NewPos(x, s.top*size.Height))
		o.Resize(fyne.NewSize(w, s.level*size.Height))
	}
}

func (l *spanLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(120, timelineHeight)
}
