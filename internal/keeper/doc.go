// Package keeper is the service: what tokentray does for its clients —
// tokens (own and per-resource, with claims and min-valid), refresh of one
// or many accounts, sign-in, sign-out, import, accounts added and removed
// as one transaction across settings, engine and vault, settings saves,
// status and its stream, the access-log policy, and which actions may raise
// a keychain prompt. A Backend implements control.Service: the keeper
// process serves it on its control socket, and a command runs it
// in-process, under the engine's per-user lock, when no keeper runs.
package keeper
