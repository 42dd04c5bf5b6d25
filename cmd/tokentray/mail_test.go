//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// Mail clients end to end: the README's msmtp and mbsync recipes, run as
// written (server lines aside), against Debian's dovecot on loopback whose
// oauth2 passdb checks every XOAUTH2 token by RFC 7662 introspection at the
// simulator. msmtp submits a message; dovecot's submission service relays
// it to a few lines of SMTP here, which hand it to dovecot's LMTP; mbsync
// fetches it over IMAP into a Maildir — with no keeper and through a
// running one. IMAP probes show dovecot takes only a live token of the
// user who signs in. A revoked grant makes both clients fail with
// tokentray's sign-in message.

const (
	mailUser    = "alice@contoso.test" // the account's UPN: the simulator's preferred_username
	mailAccount = "work"
)

// mailPrograms are the programs the test runs and the Debian packages that
// bring them (make deps installs them). A missing one fails the test.
var mailPrograms = []struct{ path, pkg string }{
	{"dovecot", "dovecot-core"},
	{"/usr/lib/dovecot/imap", "dovecot-imapd"},
	{"/usr/lib/dovecot/submission", "dovecot-submissiond"},
	{"/usr/lib/dovecot/lmtp", "dovecot-lmtpd"},
	{"msmtp", "msmtp"},
	{"mbsync", "isync"},
}

// mustProgram returns the path of a program the test needs; missing, the
// test fails naming the package to install.
func mustProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil && !strings.Contains(name, "/") {
		if sbin, err2 := exec.LookPath(filepath.Join("/usr/sbin", name)); err2 == nil { // root's PATH only
			p, err = sbin, nil
		}
	}
	if err != nil {
		t.Fatalf("%s is not available (%v): install the Debian package %s (make deps does)", name, err, pkg)
	}
	return p
}

// mustSASLXOAUTH2 fails unless a Cyrus SASL XOAUTH2 plugin is installed,
// which mbsync needs for AuthMechs XOAUTH2.
func mustSASLXOAUTH2(t *testing.T) {
	t.Helper()
	for _, pat := range []string{"/usr/lib/*/sasl2/lib*xoauth2.so*", "/usr/lib/sasl2/lib*xoauth2.so*", "/usr/lib64/sasl2/lib*xoauth2.so*"} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return
		}
	}
	t.Fatal("no Cyrus SASL XOAUTH2 plugin (lib*xoauth2.so under .../sasl2): install the Debian package libsasl2-modules-kdexoauth2 (make deps does)")
}

// dovecotServer is one dovecot instance of the test.
type dovecotServer struct {
	dir                      string
	imapPort, submissionPort int
	lmtpSocket, log          string
	greeting                 string        // login_greeting: what IMAP and submission say first
	output                   bytes.Buffer  // dovecot's own stdout and stderr; read after done
	done                     chan struct{} // closed when dovecot has exited
	exitErr                  error         // set before done is closed
}

// errPortTaken says a port freePort picked was taken before dovecot bound it.
var errPortTaken = errors.New("a listener port was taken before dovecot bound it")

// startDovecot writes testdata/mail's configuration into a directory of its
// own and runs dovecot in the foreground until the test ends, with IMAP and
// submission on free loopback ports (new ones if another process took one
// first) and LMTP on a socket in its base_dir.
func startDovecot(t *testing.T, introspectionURL string, relayPort int) *dovecotServer {
	t.Helper()
	bin := mustProgram(t, "dovecot", "dovecot-core")
	// As root, dovecot's login and mail processes run as other users: the
	// directory they use must be reachable by them, so not under t.TempDir.
	dir, err := os.MkdirTemp("", "tokentray-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"Dir": dir, "RelayPort": relayPort, "IntrospectionURL": introspectionURL}
	if os.Geteuid() == 0 {
		// Debian's dovecot users for the login and internal processes;
		// mail as nobody (dovecot refuses mail access as root).
		vals["LoginUser"], vals["InternalUser"], vals["InternalGroup"] = "dovenull", "dovecot", "dovecot"
		vals["MailUser"], vals["MailGroup"] = "nobody", "nogroup"
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		home := filepath.Join(dir, "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, uid, gid); err != nil {
			t.Fatal(err)
		}
	} else {
		// Unprivileged, every dovecot process runs as the test's user.
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		vals["LoginUser"], vals["InternalUser"], vals["InternalGroup"] = u.Username, u.Username, g.Name
		vals["MailUser"], vals["MailGroup"] = u.Username, g.Name
	}
	for attempt := 1; ; attempt++ {
		d, err := runDovecot(t, bin, dir, vals)
		if err == nil {
			return d
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			t.Fatal(err)
		}
		t.Logf("dovecot attempt %d: %v; again with new ports", attempt, err)
	}
}

// runDovecot starts one dovecot on new ports and waits until it listens.
func runDovecot(t *testing.T, bin, dir string, vals map[string]any) (*dovecotServer, error) {
	t.Helper()
	d := &dovecotServer{dir: dir, imapPort: freePort(t), submissionPort: freePort(t),
		lmtpSocket: filepath.Join(dir, "run", "lmtp"), log: filepath.Join(dir, "dovecot.log"), done: make(chan struct{})}
	vals["IMAPPort"], vals["SubmissionPort"] = d.imapPort, d.submissionPort
	d.greeting = fmt.Sprintf("tokentray-test-%d", rand.Uint64())
	vals["Greeting"] = d.greeting
	for _, name := range []string{"dovecot.conf", "dovecot-oauth2.conf.ext"} {
		tmpl, err := template.ParseFiles(filepath.Join("testdata", "mail", name))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, vals); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(d.log)
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Stdout, cmd.Stderr = &d.output, &d.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	go func() { d.exitErr = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // the master stops its children
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		if t.Failed() {
			t.Logf("dovecot output:\n%s\ndovecot log:\n%s", d.output.String(), d.logText())
		}
	})
	for _, a := range []struct{ network, addr string }{
		{"tcp", fmt.Sprint("127.0.0.1:", d.imapPort)},
		{"tcp", fmt.Sprint("127.0.0.1:", d.submissionPort)},
		{"unix", d.lmtpSocket},
	} {
		if err := d.waitListening(a.network, a.addr); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *dovecotServer) logText() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// waitListening polls until addr accepts a connection (network "tcp" or
// "unix") and, on TCP, greets with this dovecot's greeting — another
// process that took the port does not count; it gives up when dovecot
// exits or after 15 s.
func (d *dovecotServer) waitListening(network, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-d.done:
			err := fmt.Errorf("dovecot exited at start (%v):\n%s\ndovecot log:\n%s", d.exitErr, d.output.String(), d.logText())
			if strings.Contains(d.logText()+d.output.String(), "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		default:
		}
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			var line string
			if network == "tcp" {
				c.SetDeadline(time.Now().Add(time.Second))
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && (network != "tcp" || strings.Contains(line, d.greeting)) {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("greeting %q is not this dovecot's", strings.TrimSpace(line))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s does not accept connections after 15 s: %v\ndovecot log:\n%s", network, addr, err, d.logText())
		}
		time.Sleep(20 * time.Millisecond) // polling a connect, not waiting for an event
	}
}

// relayed is one message the relay handed on to LMTP.
type relayed struct {
	from string
	to   []string
	err  error
}

// startRelay listens as dovecot's submission_relay_host: the SMTP it
// speaks is what dovecot's relay client needs (EHLO, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT), and every message goes on to LMTP at lmtpSocket
// before DATA is answered, so a message accepted by submission is in the
// mailbox. It stops when the test ends.
func startRelay(t *testing.T, lmtpSocket func() string) (port int, delivered <-chan relayed) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan relayed, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveRelay(c, lmtpSocket, ch)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, ch
}

func serveRelay(c net.Conn, lmtpSocket func() string, ch chan<- relayed) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	tc := textproto.NewConn(c)
	tc.PrintfLine("220 relay.test ESMTP")
	var from string
	var to []string
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case verb == "EHLO" || verb == "HELO":
			tc.PrintfLine("250 relay.test")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			from, to = angle(line), nil
			tc.PrintfLine("250 2.1.0 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			to = append(to, angle(line))
			tc.PrintfLine("250 2.1.5 ok")
		case verb == "DATA":
			tc.PrintfLine("354 end with .")
			body, err := io.ReadAll(tc.DotReader())
			if err != nil {
				return
			}
			err = deliverLMTP(lmtpSocket(), from, to, body)
			ch <- relayed{from, to, err}
			if err != nil {
				tc.PrintfLine("451 4.3.0 lmtp: %s", strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				tc.PrintfLine("250 2.0.0 delivered")
			}
		case verb == "RSET":
			from, to = "", nil
			tc.PrintfLine("250 2.0.0 ok")
		case verb == "NOOP":
			tc.PrintfLine("250 2.0.0 ok")
		case verb == "QUIT":
			tc.PrintfLine("221 2.0.0 bye")
			return
		default:
			tc.PrintfLine("502 5.5.1 not implemented")
		}
	}
}

// angle returns the address between < and > of a MAIL or RCPT line.
func angle(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// deliverLMTP hands one message to an LMTP server (RFC 2033) at socket.
func deliverLMTP(socket, from string, to []string, body []byte) error {
	c, err := textproto.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	step := func(code int, format string, args ...any) error {
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				return err
			}
		}
		_, _, err := c.ReadResponse(code)
		return err
	}
	if err := step(220, ""); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := step(250, "LHLO relay.test"); err != nil {
		return fmt.Errorf("LHLO: %w", err)
	}
	if err := step(250, "MAIL FROM:<%s>", from); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	for _, r := range to {
		if err := step(250, "RCPT TO:<%s>", r); err != nil {
			return fmt.Errorf("RCPT %s: %w", r, err)
		}
	}
	if err := step(354, "DATA"); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	w := c.DotWriter()
	w.Write(body)
	if err := w.Close(); err != nil {
		return err
	}
	for _, r := range to { // LMTP answers DATA once per recipient
		if _, _, err := c.ReadResponse(250); err != nil {
			return fmt.Errorf("delivery to %s: %w", r, err)
		}
	}
	c.PrintfLine("QUIT")
	return nil
}

// readmeBlock returns the first fenced code block under the README heading
// that starts with heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading)
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, after, ok = strings.Cut(after, "\n```")
	if !ok {
		t.Fatalf("README.md has no code block under %q", heading)
	}
	_, after, _ = strings.Cut(after, "\n") // the fence's info string
	block, _, ok := strings.Cut(after, "\n```")
	if !ok {
		t.Fatalf("README.md's code block under %q does not end", heading)
	}
	return block + "\n"
}

// recipe rewrites the lines of a README config block whose first word is a
// key of set (the value replaces the rest of the line; "" drops the line)
// and fails if a key is missing, so the README cannot drift from the test.
func recipe(t *testing.T, block string, set map[string]string) string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(block, "\n") {
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		v, ok := set[key]
		switch {
		case !ok:
			out = append(out, line)
		case v != "":
			out = append(out, key+" "+v)
		}
		seen[key] = seen[key] || ok
	}
	for k := range set {
		if !seen[k] {
			t.Fatalf("the README recipe has no %q line:\n%s", k, block)
		}
	}
	return strings.Join(out, "\n")
}

// runNoTTY runs a mail client in c's environment with stdin, in a session
// of its own (no controlling terminal, so it cannot ask for a password),
// and records what it printed for the secret scan.
func runNoTTY(c *cli, stdin string, name string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		c.t.Fatalf("%s %v still runs after 60 s (waiting for input?)\nstderr: %s", name, args, errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run %s: %v", name, err)
	}
	c.mu.Lock()
	c.output.Write(out.Bytes())
	c.output.Write(errb.Bytes())
	c.mu.Unlock()
	return result{out.String(), errb.String(), code}
}

// findMail returns the Maildir files under dir (new/ and cur/) that hold
// marker.
func findMail(t *testing.T, dir, marker string) []string {
	t.Helper()
	var found []string
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(marker)) {
				found = append(found, f)
			}
		}
	}
	return found
}

// imapXOAUTH2 signs in to the IMAP server at addr from the loopback
// address from with SASL XOAUTH2 as user with token and reports whether the
// server said OK. Dovecot slows down repeated failures from one address
// (auth penalty: 2, 4, 8 s), so each refusal the test expects comes from
// an address of its own.
func imapXOAUTH2(t *testing.T, from, addr, user, token string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	c := textproto.NewConn(conn)
	defer c.Close()
	if _, err := c.ReadLine(); err != nil { // greeting
		t.Fatal(err)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"))
	if err := c.PrintfLine("a AUTHENTICATE XOAUTH2 %s", ir); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(line, "+"): // XOAUTH2's error challenge: answer empty
			c.PrintfLine("")
		case strings.HasPrefix(line, "a "):
			return strings.HasPrefix(line, "a OK")
		}
	}
}

var signInHint = regexp.MustCompile(`run: tokentray login ` + mailAccount + `\b`)

// TestMailMsmtpMbsyncDovecot: the README's msmtp recipe sends a message
// with XOAUTH2 through dovecot's submission service, the message reaches
// the mailbox, and the README's mbsync recipe fetches it over IMAP with
// XOAUTH2 into ~/Mail/work/Inbox — each token from `tokentray token work
// --scope ...`, checked by dovecot at the simulator's introspection
// endpoint. After the simulator revokes the grant, msmtp and mbsync both
// fail with tokentray's sign-in message on stderr and ask for nothing.
func TestMailMsmtpMbsyncDovecot(t *testing.T) {
	for _, p := range mailPrograms {
		mustProgram(t, p.path, p.pkg)
	}
	mustSASLXOAUTH2(t)
	start := time.Now()

	sim, _, base := startSim(t, idpsim.Options{})
	sim.Consent(mailUser, "https://outlook.office.com")
	var dovecot *dovecotServer
	relayPort, delivered := startRelay(t, func() string { return dovecot.lmtpSocket })
	dovecot = startDovecot(t, idpsim.IntrospectionURL(base, ""), relayPort)

	// The account, signed in as the UPN dovecot expects; the mail clients
	// run `tokentray` from PATH, as the README says.
	binDir := t.TempDir()
	if err := os.Symlink(binPath, filepath.Join(binDir, "tokentray")); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", mailAccount, "--provider", "microsoft", "--client-id", testClientID)
	c.must(sim.Grant(testClientID, mailUser, []string{"offline_access", "openid", "profile", "User.Read"})+"\n", "import", mailAccount, "--refresh-token-stdin")
	// The user name the servers expect is the UPN token --json prints,
	// as README says.
	var tj struct {
		Username string `json:"username"`
	}
	if err := json.Unmarshal([]byte(c.must("", "token", mailAccount, "--json").stdout), &tj); err != nil {
		t.Fatalf("token --json: %v", err)
	}
	upn := tj.Username
	if upn != mailUser {
		t.Fatalf("token --json says the account is signed in as %q; want %q", upn, mailUser)
	}

	msmtprc := recipe(t, readmeBlock(t, "### msmtp"), map[string]string{
		"host": "127.0.0.1", "port": fmt.Sprint(dovecot.submissionPort),
		"tls": "off", "tls_starttls": "", // loopback: no TLS
		"user": upn, "from": upn,
	})
	if !strings.Contains(msmtprc, `passwordeval "tokentray token work --scope https://outlook.office.com/SMTP.Send"`) {
		t.Fatalf("the README's msmtp recipe lost its token command:\n%s", msmtprc)
	}
	mbsyncrc := recipe(t, readmeBlock(t, "### mbsync"), map[string]string{
		"Host": "127.0.0.1", "Port": fmt.Sprint(dovecot.imapPort), "SSLType": "None", "User": upn,
	})
	if !strings.Contains(mbsyncrc, `PassCmd "tokentray token work --scope https://outlook.office.com/IMAP.AccessAsUser.All"`) {
		t.Fatalf("the README's mbsync recipe lost its token command:\n%s", mbsyncrc)
	}
	for path, text := range map[string]string{
		filepath.Join(c.dir, "config", "msmtp", "config"): msmtprc,
		filepath.Join(c.dir, ".mbsyncrc"):                 mbsyncrc,
	} {
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "Mail", "work"), 0o700); err != nil {
		t.Fatal(err)
	}

	// sendAndFetch sends one message with msmtp and fetches it with mbsync.
	inbox := filepath.Join(c.dir, "Mail", "work", "Inbox")
	sendAndFetch := func(how string) {
		t.Helper()
		marker := fmt.Sprintf("tokentray-mail-test-%d", time.Now().UnixNano())
		msg := "From: " + mailUser + "\r\nTo: " + mailUser + "\r\nSubject: " + marker + "\r\n" +
			"Message-ID: <" + marker + "@contoso.test>\r\n\r\nsent by msmtp with a token from tokentray " + how + "\r\n"
		r := runNoTTY(c, msg, "msmtp", "-t")
		if r.code != 0 {
			t.Fatalf("msmtp -t %s: exit %d\nstderr: %s", how, r.code, r.stderr)
		}
		select {
		case d := <-delivered:
			if d.err != nil || d.from != mailUser || len(d.to) != 1 || d.to[0] != mailUser {
				t.Fatalf("relay got %+v %s; want from and to %s handed to LMTP", d, how, mailUser)
			}
		default:
			t.Fatalf("msmtp succeeded %s but dovecot's submission relayed nothing", how)
		}
		r = runNoTTY(c, "", "mbsync", "work")
		if r.code != 0 {
			t.Fatalf("mbsync work %s: exit %d\nstdout: %s\nstderr: %s", how, r.code, r.stdout, r.stderr)
		}
		if got := findMail(t, inbox, marker); len(got) != 1 {
			t.Fatalf("mbsync %s put %d copies of the message in %s; want 1", how, len(got), inbox)
		}
	}

	// No keeper running: each token command refreshes in-process.
	sendAndFetch("with no keeper running")

	// Each login was a token checked at the simulator, and dovecot takes
	// only a live token of the user who signs in.
	introspected := func() (n int) {
		for _, rec := range sim.Requests() {
			if rec.Endpoint == "introspect" {
				n++
			}
		}
		return n
	}
	if n := introspected(); n != 2 {
		t.Errorf("dovecot introspected %d tokens; want 2, one per login (msmtp, mbsync)", n)
	}
	imapAddr := fmt.Sprint("127.0.0.1:", dovecot.imapPort)
	imapTok := strings.TrimSpace(c.must("", "token", mailAccount, "--scope", "https://outlook.office.com/IMAP.AccessAsUser.All").stdout)
	for _, tc := range []struct {
		what, from, user, token string
		ok                      bool
	}{
		{"the account's token", "127.0.0.2", upn, imapTok, true},
		{"the account's token for another user", "127.0.0.3", "bob@contoso.test", imapTok, false},
		{"a token the simulator never issued", "127.0.0.4", upn, idpsim.AccessPrefix + "forged", false},
	} {
		if got := imapXOAUTH2(t, tc.from, imapAddr, tc.user, tc.token); got != tc.ok {
			t.Errorf("IMAP XOAUTH2 with %s: OK = %v; want %v", tc.what, got, tc.ok)
		}
	}

	// A keeper running (the desktop case): the token commands get their
	// tokens from its memory; it refreshes once per scope, not per run.
	h := startHeadless(t, c)
	refreshes := sim.Refreshes(mailUser)
	sendAndFetch("through a keeper")
	sendAndFetch("through a keeper, again")
	if n := sim.Refreshes(mailUser) - refreshes; n != 2 {
		t.Errorf("two sends and fetches through the keeper made %d refreshes; want 2 (one per scope, then its memory)", n)
	}
	// Stopped: a keeper holds the tokens it handed out in memory and serves
	// them until they near expiry, as Exchange accepts them until then.
	h.kill()

	// The provider ends the grant: both clients fail with tokentray's
	// sign-in message and ask for nothing; no token reaches dovecot.
	msg := "From: " + mailUser + "\r\nTo: " + mailUser + "\r\nSubject: after revocation\r\n\r\nnot sent\r\n"
	sim.RevokeGrant(mailUser)
	if imapXOAUTH2(t, "127.0.0.5", imapAddr, upn, imapTok) {
		t.Error("IMAP XOAUTH2 with a token of a revoked grant: OK; want NO")
	}
	before := introspected()
	r := runNoTTY(c, msg, "msmtp", "-t")
	if r.code == 0 || !signInHint.MatchString(r.stderr) {
		t.Errorf("msmtp after revocation: exit %d, stderr %q; want a failure saying run: tokentray login %s", r.code, r.stderr, mailAccount)
	}
	t.Logf("msmtp after revocation: exit %d, stderr:\n%s", r.code, r.stderr)
	r = runNoTTY(c, "", "mbsync", "work")
	if r.code == 0 || !signInHint.MatchString(r.stderr) {
		t.Errorf("mbsync after revocation: exit %d, stderr %q; want a failure saying run: tokentray login %s", r.code, r.stderr, mailAccount)
	}
	t.Logf("mbsync after revocation: exit %d, stderr:\n%s", r.code, r.stderr)
	for _, p := range []string{"assword:", "Password for"} {
		if strings.Contains(c.output.String(), p) {
			t.Errorf("a mail client asked for a password (%q) instead of failing", p)
		}
	}
	select {
	case d := <-delivered:
		t.Errorf("a message was relayed after revocation: %+v", d)
	default:
	}
	if n := introspected() - before; n != 0 {
		t.Errorf("dovecot introspected %d tokens after revocation; want none (tokentray handed none out)", n)
	}
	c.assertNoSecrets(sim, "tokens.json")
	t.Logf("dovecot start, send, deliver, fetch and the revoked runs took %s", time.Since(start).Round(time.Millisecond))
}
