package keeper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/wire"
)

// The keeper process: its claim on the control socket, serving the service
// there, and its restart.

// handlerSlot lets the keeper claim its socket before it builds the
// service (a second launch hands over without opening the keychain);
// Serve fills it before the server serves.
type handlerSlot struct{ h control.Handler }

func (s *handlerSlot) Handle(ctx context.Context, req wire.Request) wire.Response {
	return s.h.Handle(ctx, req)
}

func (s *handlerSlot) HandleStream(ctx context.Context, req wire.Request, st *control.Stream) wire.Response {
	return s.h.(control.StreamHandler).HandleStream(ctx, req, st)
}

// ErrHandedOver means another keeper runs (and, with show, has been asked
// to open its window): this process exits 0.
var ErrHandedOver = errors.New("handed over to the running tokentray")

// Socket is this process's claim on the control socket: it is the keeper.
type Socket struct {
	srv  *control.Server
	slot *handlerSlot
}

// Claim listens on the control socket at path, making this process the
// keeper, before the service is built. When one runs already it asks it to
// open its window (show) and returns ErrHandedOver.
func Claim(path string, show bool) (*Socket, error) {
	slot := &handlerSlot{}
	srv, err := control.Listen(path, slot)
	if errors.Is(err, control.ErrRunning) {
		if !show {
			return nil, ErrHandedOver
		}
		c, derr := control.Dial(path)
		if derr != nil {
			return nil, fmt.Errorf("tokentray is already running, but it does not answer: %w", derr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := c.Show(ctx, wire.TabAccounts, ""); serr != nil {
			fmt.Fprintf(os.Stderr, "tokentray is already running; it could not open its window: %v\n", serr)
		}
		return nil, ErrHandedOver
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Socket{srv: srv, slot: slot}, nil
}

// Path is the socket's path.
func (s *Socket) Path() string { return s.srv.Path() }

// Close stops listening and removes the socket.
func (s *Socket) Close() error { return s.srv.Close() }

// Serve serves b on the socket (front: the front end's ops) and runs the
// engine and the user's hooks until ctx ends; then it closes the socket.
func (s *Socket) Serve(ctx context.Context, b *Backend, front control.Front) error {
	s.slot.h = control.NewHandler(b, front)
	defer s.srv.Close()
	defer b.StartHooks(ctx, s.srv.Path())() // the keeper runs the hooks
	defer b.StartAzureSDK(ctx)()            // and the Azure SDK endpoints
	go func() {
		if err := s.srv.Serve(ctx); err != nil {
			b.Log().Error("control socket stopped", "error", err)
		}
	}()
	return b.Run(ctx)
}

// EnvRestarted marks a keeper started by a restart.
const EnvRestarted = "TOKENTRAY_RESTARTED"

// Reexec starts `tokentray args...` detached from this process. The new
// keeper does not inherit this one's stdout and stderr: they may be a pipe
// or terminal that closes when this process exits (it logs to its file).
func Reexec(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p := exec.Command(exe, args...)
	p.Env = append(os.Environ(), EnvRestarted+"=1")
	if err := p.Start(); err != nil {
		return err
	}
	return p.Process.Release()
}

// Restart remembers that the keeper was asked to restart: once it has
// stopped it re-executes itself with its arguments (or into the demo).
type Restart struct {
	mu   sync.Mutex
	args []string
}

// Ask records a restart request (into the demo with demo).
func (r *Restart) Ask(demo bool) {
	args := os.Args[1:]
	if demo {
		args = []string{"demo"}
	}
	r.mu.Lock()
	r.args = args
	r.mu.Unlock()
}

// Do re-executes the keeper when a restart was asked, after releasing
// sock for the new keeper to claim; it does nothing otherwise.
func (r *Restart) Do(sock *Socket) error {
	r.mu.Lock()
	args := r.args
	r.mu.Unlock()
	if args == nil {
		return nil
	}
	sock.Close()
	return Reexec(args)
}
