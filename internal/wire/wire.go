// Package wire is the format spoken on tokentray's control socket: the
// protocol version, ops, events, exit codes, the request, response and token
// types, limits and timeouts, and the rules both sides apply to what they
// send (--min-valid, account names). It imports only the standard library,
// so the small front (cmd/tokentray-front), the control client and server,
// and config share one copy.
package wire

import (
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is the version of the protocol. A client sends it in
// every Request; the server refuses any other value with a message naming
// both versions, and answers ping with its own, so a client can tell the
// user which side to update. Bump it on any incompatible change.
const ProtocolVersion = 2

// Ops of the protocol.
const (
	OpPing          = "ping"           // handshake and liveness; answered by the server itself with PingInfo
	OpInfo          = "info"           // the keeper's facts
	OpStatus        = "status"         // snapshot of every account, or of Account
	OpSubscribe     = "subscribe"      // stream: the current snapshot, then one per change (and show requests for a window)
	OpToken         = "token"          // an access token of Account valid for MinValid (Token)
	OpRefresh       = "refresh"        // forced refresh of Account, or of all accounts with All
	OpLogin         = "login"          // stream: interactive sign-in of Account (Device, NoBrowser; Secret: client secret)
	OpLogout        = "logout"         // sign Account out: revoke where possible, delete its secrets
	OpImport        = "import"         // adopt Secret as Account's refresh token
	OpAccountAdd    = "account_add"    // add Body (config.Account) to the file and the engine; Secret: client secret
	OpAccountRemove = "account_remove" // sign out, forget and remove Account from the file
	OpSettingsSave  = "settings_save"  // write Body (config.Settings) to the file; applies on restart
	OpRestart       = "restart"        // restart the keeper (settings apply)
	OpShow          = "show"           // open or bring forward the window (Tab, Account)
	OpQuit          = "quit"           // stop the keeper
	OpAccessLog     = "access_log"     // the tokens handed out, newest first, of Account or all; at most Limit
	OpAzureSDKEnv   = "azure_sdk_env"  // IDENTITY_ENDPOINT and IDENTITY_HEADER of Account's Azure SDK endpoint
)

// AllowedOps lists the ops in the order error messages name them.
var AllowedOps = []string{OpPing, OpInfo, OpStatus, OpSubscribe, OpToken, OpRefresh, OpLogin, OpLogout,
	OpImport, OpAccountAdd, OpAccountRemove, OpSettingsSave, OpRestart, OpShow, OpQuit, OpAccessLog, OpAzureSDKEnv}

// Streaming reports whether op answers with events before its final
// Response.
func Streaming(op string) bool { return op == OpSubscribe || op == OpLogin }

// Events sent on streams.
const (
	EventSnapshot = "snapshot" // Data: the keeper's snapshot
	EventShow     = "show"     // Data: Show (only to a subscriber with Request.Window)
	EventDevice   = "device"   // Data: DeviceCode (login --device)
	EventPrint    = "print"    // Data: a JSON string the client prints on stderr (login --no-browser)
)

// Exit code suggestions carried in Response.Code; the CLI exits with them.
const (
	CodeOK          = 0 // success
	CodeFailure     = 1 // the operation failed
	CodeUsage       = 2 // bad request or configuration (unknown op, malformed JSON, bad field, version mismatch)
	CodeNeedsSignIn = 3 // the account needs an interactive sign-in
)

// Protocol limits.
const (
	// MaxRequestSize bounds one request line, newline included.
	MaxRequestSize = 64 << 10
	// MaxResponseSize bounds one response or event line on the client side.
	MaxResponseSize = 16 << 20
	// DefaultTimeout is the read and write deadline of a connection and the
	// handler's time budget when a request names no Timeout.
	DefaultTimeout = 5 * time.Second
	// MaxTimeout is the largest Request.Timeout the server accepts (a refresh
	// of every account may take this long).
	MaxTimeout = 2 * time.Minute
	// MaxLoginTimeout is the largest Timeout of OpLogin: a device code is
	// typically valid for 15 minutes.
	MaxLoginTimeout = 20 * time.Minute
	// ClientSlack is how much longer a client waits than the handler's
	// budget: the server's read and write phases.
	ClientSlack = 2 * DefaultTimeout
	// MaxConns bounds the connections served at once; up to MaxQueued
	// more wait for a slot (at most MaxTimeout), beyond that they are
	// refused with a Busy response, which clients retry with backoff.
	// MaxStreams bounds the subscriptions and logins among them.
	MaxConns   = 64
	MaxQueued  = 1024
	MaxStreams = 16
	// MaxClientLen bounds Request.Client (a tokentray version such as
	// "1.4.0-12-gabcdef"): it reaches the access log.
	MaxClientLen = 64
	// MaxAccountLen bounds Request.Account on the wire (names are shorter:
	// CheckAccountName).
	MaxAccountLen = 200
	// MaxAccessLogLimit is the largest Request.Limit (the entries a keeper
	// keeps).
	MaxAccessLogLimit = 500
)

// MaxTimeoutOf is the largest Timeout op accepts.
func MaxTimeoutOf(op string) time.Duration {
	if op == OpLogin {
		return MaxLoginTimeout
	}
	return MaxTimeout
}

// Tabs of OpShow.
const (
	TabAccounts = "accounts"
	TabSettings = "settings"
	TabSignIn   = "signin" // sign Account in
)

// ErrVersionMismatch: the two sides of a connection speak different
// protocol versions. The error's text names both.
var ErrVersionMismatch = errors.New("control protocol version mismatch")

// ServerMismatch is the server's refusal of a request from another protocol
// version; server is the keeper's tokentray release.
func ServerMismatch(clientProto int, clientVersion, server string) error {
	cv := clientVersion
	if cv == "" {
		cv = "an older release"
	}
	return fmt.Errorf("%w: this client is tokentray %s (control protocol %d), the running keeper is tokentray %s (control protocol %d); "+
		"quit the keeper (tokentray quit) and start the version you want, or use the matching client",
		ErrVersionMismatch, cv, clientProto, server, ProtocolVersion)
}

// ClientMismatch is what a client says when the keeper's handshake answer
// (info) names another protocol version; client is this tokentray release.
func ClientMismatch(info PingInfo, client string) error {
	kv, kp := info.Version, fmt.Sprint(info.Proto)
	if info.Proto == 0 {
		kv, kp = "an older release", "1"
	}
	return fmt.Errorf("%w: the running keeper (pid %d) is tokentray %s (control protocol %s), this is tokentray %s (control protocol %d); "+
		"quit the keeper (tokentray quit, or Quit in its tray menu) and start the version you want",
		ErrVersionMismatch, info.PID, kv, kp, client, ProtocolVersion)
}
