package hooks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
)

// Defaults of Options.
const (
	DefaultQueue       = 4        // events waiting per account and event
	DefaultOutputLimit = 64 << 10 // bytes of a hook's output that reach the log
	maxLine            = 64 << 10 // longer lines are logged in pieces (see lineRedactor)
)

// Redactor removes the secrets it holds from text; *engine.Engine is one.
type Redactor interface {
	Redact(s string) string
	// LongestSecret is the length of the longest secret Redact replaces
	// (0: none).
	LongestSecret() int
}

// Options configure a Runner.
type Options struct {
	Commands map[Event][]string // argv per event; an event without one runs nothing
	Timeout  time.Duration      // a hook running longer is killed with its process group, as is what it left running in the background; 0: 30 s
	// Socket is the keeper's control socket, given to hooks as
	// TOKENTRAY_SOCKET (and TOKENTRAY_CONTROL_SOCKET, which `tokentray`
	// reads), so `tokentray token` in a hook asks the keeper.
	Socket      string
	Log         *slog.Logger // hook output and outcomes; nil: slog.Default()
	Queue       int          // events that may wait per account and event; more are dropped and logged; 0: DefaultQueue
	OutputLimit int          // bytes of output logged per run; the rest is counted and dropped; 0: DefaultOutputLimit
	Env         []string     // the hooks' base environment; nil: this process's
	// Redact filters hook output before it is logged (the keeper passes
	// its engine: a hook may print a token it asked for); a secret is
	// redacted also in a line logged in pieces. Nil logs the lines as they are.
	Redact Redactor
}

// FromSettings returns the commands and timeout of the settings' hooks.
func FromSettings(h config.Hooks) Options {
	cmds := map[Event][]string{}
	for ev, argv := range map[Event][]string{Refreshed: h.Refreshed, NeedsSignIn: h.NeedsSignIn, Failing: h.Failing, Recovered: h.Recovered} {
		if len(argv) > 0 {
			cmds[ev] = argv
		}
	}
	return Options{Commands: cmds, Timeout: h.Timeout}
}

// Runner runs hooks for fired events: at most one run per account and
// event at a time (a run lasts while the hook or anything it left in the
// background runs), later events of the same kind queued (bounded), each
// run bounded by the timeout. Fire never blocks.
type Runner struct {
	o   Options
	log *slog.Logger

	mu    sync.Mutex
	lanes map[lane]chan Fired
	wg    sync.WaitGroup
	ctx   context.Context // Run's; nil before Run
}

type lane struct {
	account string
	event   Event
}

// New returns a Runner; it runs nothing until Run.
func New(o Options) *Runner {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return &Runner{o: o, log: log, lanes: map[lane]chan Fired{}}
}

// Enabled reports whether any event has a command.
func (r *Runner) Enabled() bool { return len(r.o.Commands) > 0 }

// Run derives events from snaps (see Watch) and runs their hooks until
// snaps is closed or ctx ends; then it stops the hooks still running (their
// context ends: they are killed) and waits for them.
func (r *Runner) Run(ctx context.Context, snaps <-chan state.Snapshot) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	var w Watch
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case s, ok := <-snaps:
			if !ok {
				break loop
			}
			for _, f := range w.Update(s) {
				r.Fire(f)
			}
		}
	}
	cancel()
	r.wg.Wait()
}

// Fire queues f's hook, if its event has one. When the account's queue for
// that event is full the event is dropped and logged.
func (r *Runner) Fire(f Fired) {
	if _, ok := r.o.Commands[f.Event]; !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.ctx.Err() != nil {
		return
	}
	k := lane{f.Account.Name, f.Event}
	ch, ok := r.lanes[k]
	if !ok {
		ch = make(chan Fired, r.o.Queue)
		r.lanes[k] = ch
		ctx := r.ctx
		r.wg.Go(func() { r.serve(ctx, ch) })
	}
	select {
	case ch <- f:
	default:
		r.log.Warn("hook dropped: earlier runs are still queued", "hook", string(f.Event), "account", f.Account.Name, "queue", r.o.Queue)
	}
}

// serve runs one lane's hooks one after the other.
func (r *Runner) serve(ctx context.Context, ch chan Fired) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-ch:
			r.run(ctx, f)
		}
	}
}

// run runs f's hook to its end, its timeout or ctx's end, and logs its
// output and outcome. It returns once the hook's process group is empty:
// processes the hook left running are killed at the timeout or ctx's end,
// whether or not they hold its output.
func (r *Runner) run(ctx context.Context, f Fired) {
	argv := r.o.Commands[f.Event]
	log := r.log.With("hook", string(f.Event), "account", f.Account.Name)
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()

	pr, pw, err := os.Pipe()
	if err != nil {
		log.Error("hook not started", "error", err)
		return
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), r.o.Env...), Env(f, r.o.Socket)...)
	cmd.Stdout, cmd.Stderr = pw, pw // stdin is the null device
	cmd.WaitDelay = time.Second
	g := newGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		log.Error("hook not started", "program", argv[0], "error", err)
		return
	}
	g.started()
	defer g.close()
	pw.Close()
	out := make(chan int64, 1)
	go func() { out <- r.logOutput(pr, log) }()
	werr := cmd.Wait()
	took := time.Since(start)
	ended := ctx.Err() == nil // the hook ended by itself
	// The output ends when every process holding the pipe is gone; one
	// left running in the background ends with the timeout.
	var dropped int64
	killed := false
	select {
	case dropped = <-out:
	case <-ctx.Done():
		g.kill()
		killed = true
		pr.Close()
		dropped = <-out
	}
	pr.Close()
	if dropped > 0 {
		log.Warn("hook output truncated", "dropped_bytes", dropped, "limit_bytes", r.o.OutputLimit)
	}
	r.logOutcome(ctx, log, werr, took)
	// What the hook left in the background with its output elsewhere runs
	// until the timeout or until the keeper stops, as the hook could have.
	if ended && !killed && !g.wait(ctx) {
		g.kill()
		killed = true
	}
	switch {
	case !ended || !killed:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.Warn("hook's background processes killed: they ran longer than hooks.timeout", "timeout", r.o.Timeout)
	default:
		log.Info("hook's background processes stopped: the keeper is stopping")
	}
}

// logOutcome logs how the hook process itself ended: werr is what Wait
// returned, ctx the run's.
func (r *Runner) logOutcome(ctx context.Context, log *slog.Logger, werr error, took time.Duration) {
	var ee *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && werr != nil:
		log.Warn("hook killed: it ran longer than hooks.timeout", "timeout", r.o.Timeout)
	case ctx.Err() != nil && werr != nil:
		log.Info("hook stopped: the keeper is stopping")
	case errors.As(werr, &ee):
		log.Warn("hook failed", "exit", ee.ExitCode(), "took", took.Round(time.Millisecond))
	case werr != nil:
		log.Warn("hook failed", "error", werr)
	default:
		log.Info("hook ran", "exit", 0, "took", took.Round(time.Millisecond))
	}
}

// logOutput logs rd line by line up to the output limit and returns how
// many bytes it dropped past the limit. A line longer than maxLine is
// logged in pieces, redacted across them (see lineRedactor).
func (r *Runner) logOutput(rd io.Reader, log *slog.Logger) int64 {
	br := bufio.NewReaderSize(rd, maxLine)
	lr := lineRedactor{r: r.o.Redact}
	var logged, dropped int64
	for {
		piece, err := br.ReadSlice('\n')
		more := errors.Is(err, bufio.ErrBufferFull) // the line goes on
		if len(piece) > 0 {
			if logged+int64(len(piece)) <= int64(r.o.OutputLimit) {
				logged += int64(len(piece))
				text := string(piece)
				if !more {
					text = trimNewline(piece)
				}
				if out := lr.next(text, more); out != "" || !more {
					log.Info("hook output", "line", out)
				}
			} else {
				logged = int64(r.o.OutputLimit) // nothing more is logged
				// The held end of the line may begin a secret: it is
				// dropped with the rest.
				dropped += int64(len(piece)) + int64(lr.drop())
			}
		}
		if err != nil && !more {
			if len(piece) == 0 && lr.held != "" { // the output ended in a long line's held end
				log.Info("hook output", "line", lr.next("", false))
			}
			return dropped
		}
	}
}

// lineRedactor redacts a line that comes in pieces. Of each piece it
// holds back as many bytes as the longest secret, less one — the start of
// a secret the next piece may complete — unless a replacement ends there
// (only what follows it can start a secret) or the line ends.
type lineRedactor struct {
	r    Redactor
	held string // the unlogged end of the line, not yet redacted
}

// next returns what of the line so far can be logged, with piece added;
// more says the line goes on.
func (l *lineRedactor) next(piece string, more bool) string {
	if l.r == nil {
		return piece
	}
	raw := l.held + piece
	l.held = ""
	red := l.r.Redact(raw)
	if !more {
		return red
	}
	hold := min(commonSuffix(raw, red), l.r.LongestSecret()-1, len(raw))
	if hold <= 0 {
		return red
	}
	l.held = raw[len(raw)-hold:]
	return red[:len(red)-hold]
}

// drop forgets the held end of the line and returns its length.
func (l *lineRedactor) drop() int {
	n := len(l.held)
	l.held = ""
	return n
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

func trimNewline(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return string(b)
}

// Env returns the variables a hook for f gets: the event, the account, its
// state, access-token expiry and last refresh (RFC 3339, empty when
// unknown), the last error (the provider's code, or a short text; empty when
// the event is not a failure) and the control socket. Never a token.
func Env(f Fired, socket string) []string {
	a := f.Account
	var msg string
	if f.Event == NeedsSignIn || f.Event == Failing {
		msg = errorText(a.LastError)
	}
	env := []string{
		"TOKENTRAY_EVENT=" + string(f.Event),
		"TOKENTRAY_ACCOUNT=" + a.Name,
		"TOKENTRAY_STATE=" + string(a.State),
		"TOKENTRAY_EXPIRES_AT=" + rfc3339(a.AccessExpiry),
		"TOKENTRAY_LAST_REFRESH=" + rfc3339(a.LastSuccess),
		"TOKENTRAY_ERROR=" + msg,
		"TOKENTRAY_SIGN_IN_BY=" + signInBy(a),
	}
	if socket != "" {
		env = append(env, "TOKENTRAY_SOCKET="+socket, "TOKENTRAY_CONTROL_SOCKET="+socket)
	}
	return env
}

// errorText is the provider's OAuth error code with its AADSTS codes, or
// the engine's short message (which never holds a token).
func errorText(e *state.ErrorInfo) string {
	if e == nil {
		return ""
	}
	if e.Code != "" {
		s := e.Code
		for _, c := range e.AADSTS {
			s += fmt.Sprintf(" AADSTS%d", c)
		}
		return s
	}
	const max = 200
	if len(e.Message) > max {
		return e.Message[:max]
	}
	return e.Message
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// signInBy is the expiry radar's date of the next interactive sign-in
// (RFC 3339), "" when the provider has not told.
func signInBy(a state.AccountStatus) string {
	if a.Radar == nil {
		return ""
	}
	return rfc3339(a.Radar.SignInBy)
}
