package control

import "github.com/tokentray/tokentray/internal/wire"

// The wire format lives in internal/wire. These names keep the callers of
// control's typed calls compiling while they move to wire; new code uses
// wire directly.

// Types of the wire format.
type (
	Request       = wire.Request
	Response      = wire.Response
	ResponseError = wire.ResponseError
	PingInfo      = wire.PingInfo
	Token         = wire.Token
)

// ErrVersionMismatch is wire.ErrVersionMismatch.
var ErrVersionMismatch = wire.ErrVersionMismatch

// Constants of the wire format.
const (
	ProtocolVersion = wire.ProtocolVersion

	OpPing          = wire.OpPing
	OpInfo          = wire.OpInfo
	OpStatus        = wire.OpStatus
	OpSubscribe     = wire.OpSubscribe
	OpToken         = wire.OpToken
	OpRefresh       = wire.OpRefresh
	OpLogin         = wire.OpLogin
	OpLogout        = wire.OpLogout
	OpImport        = wire.OpImport
	OpAccountAdd    = wire.OpAccountAdd
	OpAccountRemove = wire.OpAccountRemove
	OpSettingsSave  = wire.OpSettingsSave
	OpRestart       = wire.OpRestart
	OpShow          = wire.OpShow
	OpQuit          = wire.OpQuit
	OpAccessLog     = wire.OpAccessLog
	OpAzureSDKEnv   = wire.OpAzureSDKEnv

	EventSnapshot = wire.EventSnapshot
	EventShow     = wire.EventShow
	EventDevice   = wire.EventDevice
	EventPrint    = wire.EventPrint

	CodeOK          = wire.CodeOK
	CodeFailure     = wire.CodeFailure
	CodeUsage       = wire.CodeUsage
	CodeNeedsSignIn = wire.CodeNeedsSignIn

	MaxResponseSize   = wire.MaxResponseSize
	DefaultTimeout    = wire.DefaultTimeout
	MaxTimeout        = wire.MaxTimeout
	MaxLoginTimeout   = wire.MaxLoginTimeout
	MaxAccessLogLimit = wire.MaxAccessLogLimit

	TabAccounts = wire.TabAccounts
	TabSettings = wire.TabSettings
	TabSignIn   = wire.TabSignIn
)

// Result is wire.Result.
func Result(v any) Response { return wire.Result(v) }

// Failure is wire.Failure.
func Failure(code int, err error) Response { return wire.Failure(code, err) }
