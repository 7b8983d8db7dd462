//go:build !linux

package daemon

// inBackground runs f.
func inBackground(f func()) { f() }
