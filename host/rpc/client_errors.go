package rpc

import (
	"errors"
	"strings"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
)

// Errors of a [Client]. Each wraps or is the error its oslo.messaging
// counterpart names.
var (
	// ErrTimeout is oslo's MessagingTimeout: no final reply came within
	// the call's timeout, or no reply at all within its call monitor
	// timeout. A call whose ctx deadline passes first returns an error
	// that is both ErrTimeout and context.DeadlineExceeded.
	ErrTimeout = errors.New("rpc: timed out waiting for a reply")
	// ErrClientClosed is returned by the calls and casts of a closed
	// [Client], and by the calls it was waiting for when it closed.
	ErrClientClosed = errors.New("rpc: client closed")
	// ErrInvalidTarget is oslo's InvalidTarget: a call to a fanout target,
	// a request without a topic or a method.
	ErrInvalidTarget = errors.New("rpc: invalid target")
	// ErrDeliveryFailure is oslo's MessageDeliveryFailure: with a limited
	// [WithRetry], the broker stayed unreachable through every retry.
	ErrDeliveryFailure = errors.New("rpc: message delivery failure")
)

// RemoteError is an exception the remote method raised, as the server
// sent it (oslo.messaging's failure: class, module, message, traceback,
// args, kwargs). A Python client raises it as the class itself when the
// module is allowed, as oslo_messaging.RemoteError otherwise; a Go caller
// gets it with errors.As:
//
//	var re *rpc.RemoteError
//	if errors.As(err, &re) && re.Class == "ValueError" { ... }
type RemoteError struct {
	// Class is the exception's class name, e.g. "ValueError" or
	// "NoSuchMethod".
	Class string
	// Module is the class's module, e.g. "builtins" or
	// "oslo_messaging.rpc.dispatcher"; "" when the server sent none.
	Module string
	// Message is str(exception).
	Message string
	// Traceback is the server's traceback lines, each ending in a newline.
	Traceback []string
	// Args are the exception's args, Kwargs its kwargs (oslo-style
	// exceptions); JSON values decoded as oslo.DecodeValue decodes them.
	Args   []any
	Kwargs map[string]any
}

var _ error = (*RemoteError)(nil)

// Error returns "remote error: Class: Message", the class qualified by its
// module unless that is builtins.
func (e *RemoteError) Error() string {
	return "remote error: " + e.Failure().Error()
}

// Failure returns the exception in host/oslo's form, e.g. to send it on
// to another caller unchanged.
func (e *RemoteError) Failure() *oslo.Failure {
	return &oslo.Failure{
		Class:     e.Class,
		Module:    e.Module,
		Message:   e.Message,
		Traceback: e.Traceback,
		Args:      e.Args,
		Kwargs:    e.Kwargs,
	}
}

// TracebackText returns the traceback as one string.
func (e *RemoteError) TracebackText() string { return strings.Join(e.Traceback, "") }

// remoteError converts a reply's failure.
func remoteError(f *oslo.Failure) *RemoteError {
	return &RemoteError{
		Class:     f.Class,
		Module:    f.Module,
		Message:   f.Message,
		Traceback: f.Traceback,
		Args:      f.Args,
		Kwargs:    f.Kwargs,
	}
}

// VersionCapError is oslo's RPCVersionCapError: the request's version is
// beyond the client's version cap (same major, minor at most the cap's),
// or names no version while a cap is set. Nothing was sent.
type VersionCapError struct {
	Version    string // "" when the target has none
	VersionCap string
}

func (e *VersionCapError) Error() string {
	v := e.Version
	if v == "" {
		v = "None"
	}
	return "rpc: requested message version, " + v +
		" is incompatible. It needs to be equal in major version and less than or equal in minor version as the specified version cap " +
		e.VersionCap + "."
}
