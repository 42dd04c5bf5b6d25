package main

// ignoreSIGPIPE: Windows has no SIGPIPE; a write to a closed pipe fails.
func ignoreSIGPIPE() {}
