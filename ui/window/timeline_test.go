package window

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tokentray/tokentray/internal/state"
)

func TestTimelineOf(t *testing.T) {

	ago := func(d time.Duration) time.Time { return clock.Add(-d) }
	ok := func(at, expiry time.Time, fresh bool) state.Event {
		return state.Event{At: at, Kind: state.EventOK, Fresh: fresh, Expiry: expiry}
	}
	failed := func(at time.Time) state.Event { return state.Event{At: at, Kind: state.EventFailed} }
	for _, tc := range []struct {
		name    string
		a       state.AccountStatus
		want    timelineModel
		summary string
	}{
		{
			name:    "no history",
			a:       state.AccountStatus{State: state.SignedOut},
			summary: "no refreshes in the last 24 h",
		},
		{
			name: "older than 24 h left out, its validity clipped",
			a: state.AccountStatus{State: state.NeedsSignIn, History: []state.Event{
				ok(ago(30*time.Hour), ago(29*time.Hour), true),
				ok(ago(24*time.Hour+30*time.Minute), ago(23*time.Hour), true),
				failed(ago(12 * time.Hour)),
			}},
			want: timelineModel{
				valid: []band{{0, time.Hour}},
				marks: []mark{{12 * time.Hour, markFailed}},
			},
			summary: "0 refreshes · 1 failed",
		},
		{
			name: "overlapping tokens merge; a gap stays; the same token is its own kind",
			a: state.AccountStatus{State: state.OK, History: []state.Event{
				ok(ago(10*time.Hour), ago(9*time.Hour), true),
				ok(ago(9*time.Hour+30*time.Minute), ago(8*time.Hour), true),
				ok(ago(8*time.Hour+30*time.Minute), ago(8*time.Hour), false),
				failed(ago(7 * time.Hour)),
				ok(ago(6*time.Hour), ago(5*time.Hour), true),
			}},
			want: timelineModel{
				valid: []band{{14 * time.Hour, 16 * time.Hour}, {18 * time.Hour, 19 * time.Hour}},
				marks: []mark{
					{14 * time.Hour, markNewToken}, {14*time.Hour + 30*time.Minute, markNewToken},
					{15*time.Hour + 30*time.Minute, markSameToken}, {17 * time.Hour, markFailed},
					{18 * time.Hour, markNewToken},
				},
			},
			summary: "4 refreshes (3 new tokens) · 1 failed",
		},
		{
			name: "the token held now is valid up to now, not beyond",
			a: state.AccountStatus{State: state.OK, LastSuccess: ago(20 * time.Minute), AccessExpiry: clock.Add(45 * time.Minute),
				History: []state.Event{ok(ago(20*time.Minute), clock.Add(45*time.Minute), true)}},
			want: timelineModel{
				valid: []band{{24*time.Hour - 20*time.Minute, 24 * time.Hour}},
				marks: []mark{{24*time.Hour - 20*time.Minute, markNewToken}},
			},
			summary: "1 refresh",
		},
		{
			name: "signed in without a refresh: the held token shows, no mark",
			a:    state.AccountStatus{State: state.OK, LastSuccess: ago(2 * time.Hour), AccessExpiry: ago(time.Hour)},
			want: timelineModel{
				valid: []band{{22 * time.Hour, 23 * time.Hour}},
			},
			summary: "no refreshes in the last 24 h",
		},
		{
			name:    "signed out: the old token is not held",
			a:       state.AccountStatus{State: state.SignedOut, LastSuccess: ago(2 * time.Hour), AccessExpiry: ago(time.Hour)},
			summary: "no refreshes in the last 24 h",
		},
		{
			name: "unsorted history, an event after now at the right edge",
			a: state.AccountStatus{State: state.BackingOff, History: []state.Event{
				failed(clock.Add(time.Minute)),
				ok(ago(2*time.Hour), ago(time.Hour), true),
			}},
			want: timelineModel{
				valid: []band{{22 * time.Hour, 23 * time.Hour}},
				marks: []mark{{22 * time.Hour, markNewToken}, {24 * time.Hour, markFailed}},
			},
			summary: "1 refresh · 1 failed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := timelineOf(tc.a, clock)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(timelineModel{}, band{}, mark{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("timelineOf (-want +got):\n%s", diff)
			}
			if s := got.summary(); s != tc.summary {
				t.Errorf("summary() = %q; want %q", s, tc.summary)
			}
		})
	}
}

func TestTimelineSpans(t *testing.T) {
	m := timelineModel{
		valid: []band{{0, 6 * time.Hour}},
		marks: []mark{{12 * time.Hour, markFailed}, {18 * time.Hour, markNewToken}, {21 * time.Hour, markSameToken}},
	}
	want := []span{
		{from: 0, to: 1, top: 0, height: 1, color: colorTrack},
		{from: 0, to: 0.25, top: 0.4, height: 0.6, color: colorValid},
		{from: 0.25, to: 0.25, height: 1, width: 1, color: colorGrid},
		{from: 0.5, to: 0.5, height: 1, width: 1, color: colorGrid},
		{from: 0.75, to: 0.75, height: 1, width: 1, color: colorGrid},
		{from: 0.875, to: 0.875, top: 0.5, height: 0.5, width: 2, color: colorSame}, // bottom-most mark
		{from: 0.75, to: 0.75, height: 1, width: 2, color: colorNew},
		{from: 0.5, to: 0.5, height: 1, width: 3, color: colorFail}, // failures on top
	}
	got := timelineSpans(m)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(span{}), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("timelineSpans (-want +got):\n%s", diff)
	}
}

func TestMergeBands(t *testing.T) {
	for _, tc := range []struct{ in, want []band }{
		{nil, nil},
		{[]band{{5, 6}, {1, 2}}, []band{{1, 2}, {5, 6}}},
		{[]band{{1, 3}, {2, 4}}, []band{{1, 4}}},
		{[]band{{1, 2}, {2, 3}}, []band{{1, 3}}},   // touching
		{[]band{{1, 10}, {2, 3}}, []band{{1, 10}}}, // contained
	} {
		if got := mergeBands(append([]band(nil), tc.in...)); !cmp.Equal(got, tc.want, cmp.AllowUnexported(band{}), cmpopts.EquateEmpty()) {
			t.Errorf("mergeBands(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}
