package sdk

import (
	"errors"
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

// Error is an exception a handler raises to its caller: a Python client
// gets an exception of class Class (rebuilt from Module when it may, an
// oslo_messaging.RemoteError naming the class otherwise) whose str() is
// Message.
//
// A handler returns it as its error, possibly wrapped: the caller sees the
// first *Error in the chain, as it is, without the wrapping text.
type Error struct {
	// Class is the exception class name, such as "ValueError" or
	// "VolumeNotFound". Empty means "RuntimeError".
	Class string
	// Module is the Python module of the class. Empty means "builtins" when
	// Class is one of Python's built-in exceptions (see [IsBuiltin]), and
	// no module otherwise.
	Module string
	// Message is what str() of the exception gives the caller.
	Message string
	// Args are the exception's positional arguments, with which a Python
	// client rebuilds it; nil means [Message] alone.
	Args []any
	// Kwargs are its keyword arguments.
	Kwargs map[string]any
	// Expected marks an error the method expects to raise in normal
	// operation (oslo.messaging's ExpectedException): the host logs it
	// without a traceback or alarm.
	Expected bool
}

var _ error = (*Error)(nil)

// Error returns "Class: Message", as the last line of a Python traceback.
func (e *Error) Error() string { return e.class() + ": " + e.Message }

func (e *Error) class() string {
	if e.Class == "" {
		return GenericClass
	}
	return e.Class
}

// GenericClass is the class of an error that names none: a plain Go error
// returned by a handler, a recovered panic, an [Error] with an empty Class.
// Python raises RuntimeError "when an error is detected that doesn't fall
// in any of the other categories".
const GenericClass = "RuntimeError"

// NewError returns an error of class class with message message.
func NewError(class, message string) *Error {
	return &Error{Class: class, Message: message}
}

// Errorf returns an error of class class whose message is formatted as
// fmt.Sprintf does:
//
//	return nil, sdk.Errorf("ValueError", "size_gb must be > 0, got %d", a.SizeGB)
func Errorf(class, format string, a ...any) *Error {
	return &Error{Class: class, Message: fmt.Sprintf(format, a...)}
}

// WithModule returns a copy of e whose class lives in Python module m,
// for a client that allows that module (allowed_remote_exmods) to rebuild
// it.
func (e *Error) WithModule(m string) *Error {
	c := *e
	c.Module = m
	return &c
}

// WithArgs returns a copy of e with the exception's positional arguments.
func (e *Error) WithArgs(args ...any) *Error {
	c := *e
	c.Args = args
	return &c
}

// WithKwargs returns a copy of e with the exception's keyword arguments.
func (e *Error) WithKwargs(kwargs map[string]any) *Error {
	c := *e
	c.Kwargs = kwargs
	return &c
}

// AsExpected returns a copy of e marked [Error.Expected].
func (e *Error) AsExpected() *Error {
	c := *e
	c.Expected = true
	return &c
}

// builtinError returns a built-in Python exception.
func builtinError(class, message string) *Error {
	return &Error{Class: class, Module: "builtins", Message: message}
}

// toABI maps any error a handler returned to the ABI's error: the first
// *Error in its chain, a *py.Error (always a built-in class), or a
// [GenericClass] error whose message is err.Error().
func toABI(err error) *abi.Error {
	se, ok := err.(*Error)
	if !ok {
		ok = errors.As(err, &se)
	}
	if ok {
		out := &abi.Error{
			Class:    se.class(),
			Module:   se.Module,
			Message:  se.Message,
			Args:     se.Args,
			Kwargs:   se.Kwargs,
			Expected: se.Expected,
		}
		if out.Module == "" && IsBuiltin(out.Class) {
			out.Module = "builtins"
		}
		return out
	}
	var pe *py.Error
	if errors.As(err, &pe) {
		return &abi.Error{Class: pe.Class, Module: "builtins", Message: pe.Message}
	}
	return &abi.Error{Class: GenericClass, Module: "builtins", Message: err.Error()}
}

// fromABI turns an error a remote method raised (the Result of a call) into
// an *Error with the same class, module, message and arguments.
func fromABI(e *abi.Error) *Error {
	return &Error{
		Class:    e.Class,
		Module:   e.Module,
		Message:  e.Message,
		Args:     e.Args,
		Kwargs:   e.Kwargs,
		Expected: e.Expected,
	}
}
