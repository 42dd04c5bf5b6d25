package window

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"
)

// TestRecentUseRenders: selecting Recent use asks the keeper and lists its
// entries, newest first, with account, scope and program.
func TestRecentUseRenders(t *testing.T) {
	k := &fakeKeeper{uses: []Use{
		{At: clock.Add(-time.Minute), Account: "work", PID: 4242, Exe: "/usr/local/bin/tokentray", ParentPID: 4200, ParentExe: "/usr/bin/bash", ParentScript: "/home/ada/bin/nightly-report"},
		{At: clock.Add(-time.Hour), Account: "home", Scopes: []string{"Mail.Read"}},
	}}
	w, win := newTestWindow(t, Options{Keeper: k})
	w.render(t.Context(), snap(okAccount("work")))
	w.tabs.SelectIndex(int(TabRecentUse))
	w.wg.Wait()
	var lines []string
	w.do(func() {
		for _, o := range w.recent.rows.Objects {
			lines = append(lines, o.(*widget.Label).Text)
		}
	})
	want := []string{
		clock.Add(-time.Minute).Format("Jan 2 15:04:05") + "  work  default scopes  /usr/local/bin/tokentray (pid 4242), run by /usr/bin/bash /home/ada/bin/nightly-report (pid 4200)",
		clock.Add(-time.Hour).Format("Jan 2 15:04:05") + "  home  Mail.Read  unknown program",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("Recent use rows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got := k.called(); len(got) == 0 || got[len(got)-1] != "recent use 50" {
		t.Errorf("keeper calls %v; want recent use 50 last", got)
	}
	assertGolden(t, "recent_use.xml", win.Canvas())
}
