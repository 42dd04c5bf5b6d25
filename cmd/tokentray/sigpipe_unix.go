//go:build !windows

package main

import (
	"os/signal"
	"syscall"
)

// ignoreSIGPIPE keeps a keeper alive when the terminal or pipe it was
// started from goes away: a log line to a closed stderr then fails instead
// of killing the process (its log file gets every line regardless).
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }
