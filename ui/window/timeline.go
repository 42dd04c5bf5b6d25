package window

import (
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"github.com/tokentray/tokentray/internal/state"
)

// timelineSpan is how far back an account's timeline reaches.
const timelineSpan = 24 * time.Hour

// markKind is the outcome of one refresh attempt.
type markKind int

const (
	markSameToken markKind = iota // ok; the provider returned the access token we had
	markNewToken                  // ok; the provider returned a new access token
	markFailed
)

// band is a stretch of the timeline and mark a point on it, as offsets
// from its left edge (now − 24 h): 0 is 24 h ago, timelineSpan is now.
type band struct{ from, to time.Duration }

type mark struct {
	at   time.Duration
	kind markKind
}

// timelineModel is what an account's timeline shows: when it held a valid
// access token, and each refresh attempt with its outcome.
type timelineModel struct {
	valid []band // merged and sorted
	marks []mark // by time
}

// timelineOf is the timeline of a at now. Every token a successful refresh
// brought counts as valid from the refresh until its expiry (or now), and so
// does the token held now; attempts older than 24 h are left out and the
// rest are clipped to the timeline.
func timelineOf(a state.AccountStatus, now time.Time) timelineModel {
	start := now.Add(-timelineSpan)
	off := func(t time.Time) time.Duration { return min(max(t.Sub(start), 0), timelineSpan) }
	var m timelineModel
	var valid []band
	addValid := func(from, to time.Time) {
		if from.IsZero() || to.IsZero() {
			return
		}
		if b := (band{off(from), off(to)}); b.to > b.from {
			valid = append(valid, b)
		}
	}
	for _, e := range a.History {
		k := markFailed
		if e.Kind == state.EventOK {
			addValid(e.At, e.Expiry)
			k = markSameToken
			if e.Fresh {
				k = markNewToken
			}
		}
		if e.At.Before(start) {
			continue
		}
		m.marks = append(m.marks, mark{off(e.At), k})
	}
	if a.State != state.SignedOut {
		addValid(a.LastSuccess, a.AccessExpiry)
	}
	slices.SortStableFunc(m.marks, func(x, y mark) int { return cmp.Compare(x.at, y.at) })
	m.valid = mergeBands(valid)
	return m
}

// mergeBands sorts bs and joins those that overlap or touch.
func mergeBands(bs []band) []band {
	slices.SortFunc(bs, func(x, y band) int { return cmp.Compare(x.from, y.from) })
	var out []band
	for _, b := range bs {
		if n := len(out); n > 0 && b.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, b.to)
			continue
		}
		out = append(out, b)
	}
	return out
}

// summary counts the attempts on the timeline, for the line under it.
func (m timelineModel) summary() string {
	var ok, fresh, failed int
	for _, k := range m.marks {
		switch k.kind {
		case markFailed:
			failed++
		case markNewToken:
			ok++
			fresh++
		default:
			ok++
		}
	}
	if ok+failed == 0 {
		return "no refreshes in the last 24 h"
	}
	s := plural(ok, "refresh", "refreshes")
	if fresh < ok {
		s += " (" + plural(fresh, "new token", "new tokens") + ")"
	}
	if failed > 0 {
		s += fmt.Sprintf(" · %d failed", failed)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// The timeline's colours: readable on the light and the dark theme.
var (
	colorTrack = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x38}
	colorGrid  = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x90}
	colorValid = color.NRGBA{R: 0x42, G: 0x85, B: 0xf4, A: 0x60}
	colorNew   = color.NRGBA{R: 0x2e, G: 0xa0, B: 0x43, A: 0xff}
	colorSame  = color.NRGBA{R: 0xc0, G: 0xca, B: 0x33, A: 0xff}
	colorFail  = color.NRGBA{R: 0xe5, G: 0x39, B: 0x35, A: 0xff}
	colorLabel = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
)

// span is one rectangle of the drawn timeline: its horizontal extent in
// fractions of the width (0 = 24 h ago, 1 = now), its vertical extent in
// fractions of the height, and at least width px wide (marks are points).
type span struct {
	from, to    float32
	top, height float32
	width       float32
	color       color.NRGBA
}

// timelineGrid are the hours before now with a grid line and a label.
var timelineGrid = []time.Duration{18 * time.Hour, 12 * time.Hour, 6 * time.Hour}

// timelineSpans draws m, bottom first: the track, the validity bands in its
// lower part (blue), the grid lines, then the marks, failures on top. A new
// token is a full-height green mark, the same token a half-height
// yellow-green one, a failure a wider red one.
func timelineSpans(m timelineModel) []span {
	frac := func(d time.Duration) float32 { return float32(d) / float32(timelineSpan) }
	out := []span{{from: 0, to: 1, top: 0, height: 1, color: colorTrack}}
	for _, b := range m.valid {
		out = append(out, span{from: frac(b.from), to: frac(b.to), top: 0.4, height: 0.6, color: colorValid})
	}
	for _, ago := range timelineGrid {
		x := frac(timelineSpan - ago)
		out = append(out, span{from: x, to: x, top: 0, height: 1, width: 1, color: colorGrid})
	}
	for _, kind := range []markKind{markSameToken, markNewToken, markFailed} {
		for _, k := range m.marks {
			if k.kind != kind {
				continue
			}
			x := frac(k.at)
			switch kind {
			case markSameToken:
				out = append(out, span{from: x, to: x, top: 0.5, height: 0.5, width: 2, color: colorSame})
			case markNewToken:
				out = append(out, span{from: x, to: x, top: 0, height: 1, width: 2, color: colorNew})
			default:
				out = append(out, span{from: x, to: x, top: 0, height: 1, width: 3, color: colorFail})
			}
		}
	}
	return out
}

// timeline draws an account's last 24 h (see timelineSpans) with hour
// labels under it and a legend with a count of the attempts.
type timeline struct {
	lay     *spanLayout
	track   *fyne.Container
	summary *canvas.Text
	legend  *fyne.Container
	box     fyne.CanvasObject
}

const timelineHeight = 20

func newTimeline() *timeline {
	t := &timeline{lay: &spanLayout{}}
	t.track = container.New(t.lay)
	small := theme.Size(theme.SizeNameCaptionText)
	text := func(s string) *canvas.Text {
		l := canvas.NewText(s, colorLabel)
		l.TextSize = small
		return l
	}
	labels := []fyne.CanvasObject{text("−24 h")}
	at := []float32{0}
	for _, ago := range timelineGrid {
		labels = append(labels, text(fmt.Sprintf("−%d h", ago/time.Hour)))
		at = append(at, float32(timelineSpan-ago)/float32(timelineSpan))
	}
	labels = append(labels, text("now"))
	at = append(at, 1)
	hours := container.New(&labelLayout{at: at}, labels...)

	swatch := func(c color.NRGBA, s string) fyne.CanvasObject {
		r := canvas.NewRectangle(c)
		r.SetMinSize(fyne.NewSquareSize(small * 0.8))
		return container.NewHBox(container.NewCenter(r), text(s))
	}
	t.summary = text("")
	t.legend = container.NewHBox(
		swatch(colorNew, "new token"), swatch(colorSame, "same token"),
		swatch(colorFail, "failed"), swatch(colorValid, "token valid"),
		layout.NewSpacer(), t.summary)
	t.box = container.NewVBox(t.track, hours, t.legend)
	return t
}

func (t *timeline) object() fyne.CanvasObject { return t.box }

// update redraws the timeline for a at now.
func (t *timeline) update(a state.AccountStatus, now time.Time) {
	m := timelineOf(a, now)
	if s := m.summary(); t.summary.Text != s {
		t.summary.Text = s
		t.legend.Refresh() // its width changed
	}
	spans := timelineSpans(m)
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

// spanLayout places each object at its span.
type spanLayout struct{ spans []span }

func (l *spanLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for i, o := range objs {
		if i >= len(l.spans) {
			o.Hide()
			continue
		}
		s := l.spans[i]
		x, w := s.from*size.Width, (s.to-s.from)*size.Width
		if w < s.width { // a mark: centred on its time, inside the track
			x = min(max(x-s.width/2, 0), size.Width-s.width)
			w = s.width
		}
		o.Move(fyne.NewPos(x, s.top*size.Height))
		o.Resize(fyne.NewSize(w, s.height*size.Height))
	}
}

func (l *spanLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(120, timelineHeight)
}

// labelLayout places object i centred under fraction at[i] of the width,
// keeping every one inside (the first flush left, the last flush right).
type labelLayout struct{ at []float32 }

func (l *labelLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for i, o := range objs {
		ms := o.MinSize()
		x := l.at[i]*size.Width - ms.Width/2
		o.Move(fyne.NewPos(min(max(x, 0), size.Width-ms.Width), 0))
		o.Resize(ms)
	}
}

func (l *labelLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		ms := o.MinSize()
		s = fyne.NewSize(s.Width+ms.Width+theme.Padding(), max(s.Height, ms.Height))
	}
	return s
}
