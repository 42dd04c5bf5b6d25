package window

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Use is one token the keeper handed out (its access log): when, for which
// account and scopes, to which program. It never holds the token.
type Use struct {
	At      time.Time
	Account string
	Scopes  []string // empty: the account's own
	PID     int      // 0: unknown
	Exe     string   // "": unknown
	// ParentPID and ParentExe are who ran it (for `tokentray token`: the
	// script's interpreter); 0 and "" when unknown. ParentScript is the
	// script it runs ("-c" for an inline command); "" when none.
	ParentPID    int
	ParentExe    string
	ParentScript string
}

// recentUseLimit is how many entries the Recent use tab shows.
const recentUseLimit = 50

// recentUse is the Recent use tab: the keeper's access log, loaded when the
// tab is selected and on Reload.
type recentUse struct {
	w       *Window
	rows    *fyne.Container
	status  *widget.Label
	content fyne.CanvasObject
}

func newRecentUse(ctx context.Context, w *Window) *recentUse {
	r := &recentUse{w: w, rows: container.NewVBox(), status: widget.NewLabel("")}
	reload := widget.NewButton("Reload", func() { r.load(ctx) })
	head := widget.NewLabel("Programs that were handed a token, newest first (tokentray log prints the same).")
	head.Wrapping = fyne.TextWrapWord
	r.content = container.NewBorder(container.NewVBox(head, container.NewHBox(reload, r.status)), nil, nil, nil, container.NewVScroll(r.rows))
	return r
}

// load asks the keeper for its recent use and shows it.
func (r *recentUse) load(ctx context.Context) {
	r.w.wg.Go(func() {
		us, err := r.w.o.Keeper.RecentUse(ctx, recentUseLimit)
		r.w.do(func() { r.show(us, err) })
	})
}

// show renders us, or err; it runs on the Fyne goroutine.
func (r *recentUse) show(us []Use, err error) {
	if err != nil {
		r.status.SetText("Could not read recent use: " + err.Error())
		return
	}
	r.status.SetText(fmt.Sprintf("%d shown", len(us)))
	objs := make([]fyne.CanvasObject, 0, len(us)+1)
	if len(us) == 0 {
		objs = append(objs, widget.NewLabel("No token handed out yet."))
	}
	for _, u := range us {
		l := widget.NewLabel(useLine(u, r.w.loc))
		l.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, l)
	}
	r.rows.Objects = objs
	r.rows.Refresh()
}

// useLine is one entry as the tab shows it: time, account, scope, program.
func useLine(u Use, loc *time.Location) string {
	scope := "default scopes"
	if len(u.Scopes) > 0 {
		scope = strings.Join(u.Scopes, " ")
	}
	prog := u.Exe
	if prog == "" {
		prog = "unknown program"
	}
	if u.PID > 0 {
		prog = fmt.Sprintf("%s (pid %d)", prog, u.PID)
	}
	if u.ParentExe != "" {
		by := u.ParentExe
		if u.ParentScript != "" {
			by += " " + u.ParentScript
		}
		prog += fmt.Sprintf(", run by %s (pid %d)", by, u.ParentPID)
	}
	return fmt.Sprintf("%s  %s  %s  %s", u.At.In(loc).Format("Jan 2 15:04:05"), u.Account, scope, prog)
}
