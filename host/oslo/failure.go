package oslo

import (
	"fmt"
	"slices"
	"strings"
)

// Python modules of the exceptions a server sends.
const (
	// ModuleBuiltins is the module of Python's built-in exceptions, which
	// every client rebuilds.
	ModuleBuiltins = "builtins"
	// ModuleDispatcher is the module of NoSuchMethod and
	// UnsupportedVersion, from oslo.messaging's RPC dispatcher.
	ModuleDispatcher = "oslo_messaging.rpc.dispatcher"
	// ModuleExceptions is the module of oslo.messaging's own exceptions
	// (MessagingTimeout, MessageDeliveryFailure, …).
	ModuleExceptions = "oslo_messaging.exceptions"
)

// Failure is a remote exception: the "failure" of a reply, which
// oslo.messaging's serialize_remote_exception writes as JSON
// {"class", "module", "message", "tb", "args", "kwargs"}.
//
// A Python client rebuilds the exception (so that `except ValueError`
// works) when Module is "builtins" (or "exceptions") or one of the
// client's allowed_remote_exmods, which is empty unless the client's
// service sets it: see [Failure.Rebuilt]. It raises
// oslo_messaging.RemoteError(Class, Message, Traceback) otherwise.
type Failure struct {
	// Class is the exception class name, as type(exc).__name__.
	Class string
	// Module is the class's module, as type(exc).__module__.
	Module string
	// Message is str(exc).
	Message string
	// Traceback is traceback.format_exception's lines, each ending in a
	// newline. When nil, the encoding holds the last line alone,
	// "<module>.<Class>: <message>\n", as Python writes it.
	Traceback []string
	// Args are exc.args, the positional arguments the client passes to
	// the class to rebuild it. Nil encodes as [Message] (or [] when
	// Message is empty), as a Python exception built from its message.
	Args []any
	// Kwargs is exc.kwargs when the exception has that attribute
	// (oslo-style exceptions), passed to the class as keyword arguments.
	// Nil encodes as {}.
	Kwargs map[string]any
}

var _ error = (*Failure)(nil)

// Error returns "Class: Message", with the module for classes that are
// not built in.
func (f *Failure) Error() string {
	return f.qualifiedName() + ": " + f.Message
}

// qualifiedName is the class name as Python's traceback prints it: with
// the module unless it is builtins or __main__.
func (f *Failure) qualifiedName() string {
	if f.Module == "" || f.Module == ModuleBuiltins || f.Module == "__main__" {
		return f.Class
	}
	return f.Module + "." + f.Class
}

// Rebuilt reports whether a Python client whose transport has the given
// allowed_remote_exmods raises the exception class itself, rather than
// oslo_messaging.RemoteError: when the module is builtins (or Python 2's
// exceptions) or allowed, the class exists, derives from Exception and
// accepts Args and Kwargs. For built-in classes this is known exactly
// (they take no keyword arguments; UnicodeDecodeError and the like need
// more than one argument); for an allowed module it assumes the class is
// there and takes its arguments. A rebuilt exception's str() is Message,
// a newline and the traceback.
func (f *Failure) Rebuilt(allowedRemoteExmods []string) bool {
	switch f.Module {
	case ModuleBuiltins, "exceptions":
		if !IsBuiltinException(f.Class) || len(f.Kwargs) > 0 {
			return false
		}
		switch f.Class {
		case "ExceptionGroup":
			return false // needs a message and a sequence of exceptions
		case "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeTranslateError":
			return false // need four or five typed arguments
		}
		return true
	}
	return slices.Contains(allowedRemoteExmods, f.Module)
}

// IsBuiltinException reports whether name is one of Python 3.11's
// built-in exception classes that derive from Exception (BaseException
// alone does not suffice: the client only rebuilds Exceptions).
func IsBuiltinException(name string) bool {
	_, ok := builtinExceptions[name]
	return ok
}

// builtinExceptions are Python 3.11's built-in subclasses of Exception,
// warnings included.
var builtinExceptions = func() map[string]struct{} {
	names := strings.Fields(`ArithmeticError AssertionError AttributeError
		BlockingIOError BrokenPipeError BufferError BytesWarning
		ChildProcessError ConnectionAbortedError ConnectionError
		ConnectionRefusedError ConnectionResetError DeprecationWarning
		EOFError EncodingWarning EnvironmentError Exception ExceptionGroup
		FileExistsError FileNotFoundError FloatingPointError FutureWarning
		IOError ImportError ImportWarning IndentationError IndexError
		InterruptedError IsADirectoryError KeyError LookupError MemoryError
		ModuleNotFoundError NameError NotADirectoryError NotImplementedError
		OSError OverflowError PendingDeprecationWarning PermissionError
		ProcessLookupError RecursionError ReferenceError ResourceWarning
		RuntimeError RuntimeWarning StopAsyncIteration StopIteration
		SyntaxError SyntaxWarning SystemError TabError TimeoutError
		TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError
		UnicodeError UnicodeTranslateError UnicodeWarning UserWarning
		ValueError Warning ZeroDivisionError`)
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}()

// NewFailure returns a failure of the given class and message, as Python
// sends an exception built from its message alone (args [message], no
// kwargs), with the module "builtins" when the class is one of Python's
// built-in exceptions (and no module otherwise: the caller sets one).
func NewFailure(class, message string) *Failure {
	f := &Failure{Class: class, Message: message, Args: []any{message}, Kwargs: map[string]any{}}
	if IsBuiltinException(class) {
		f.Module = ModuleBuiltins
	}
	return f
}

// NoSuchMethod is the failure a Python server sends when no endpoint of
// a compatible namespace and version has the method, or when the method
// is private (its name starts with "_").
func NoSuchMethod(method string) *Failure {
	f := NewFailure("NoSuchMethod", "Endpoint does not support RPC method "+method)
	f.Module = ModuleDispatcher
	return f
}

// UnsupportedVersion is the failure a Python server sends when no
// endpoint serves the request's namespace and version. version is the
// request's version (oslo writes "1.0" when the client named none);
// method may be empty.
func UnsupportedVersion(version, method string) *Failure {
	msg := "Endpoint does not support RPC version " + version
	if method != "" {
		msg += ". Attempted method: " + method
	}
	f := NewFailure("UnsupportedVersion", msg)
	f.Module = ModuleDispatcher
	return f
}

// MissingArguments is the TypeError Python raises when a call lacks
// required arguments of function (Python 3.11 names a method
// "Class.method"), e.g. "Endpoint.echo() missing 1 required positional
// argument: 'value'".
func MissingArguments(function string, names ...string) *Failure {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	var list string
	switch len(quoted) {
	case 0:
	case 1:
		list = quoted[0]
	case 2:
		list = quoted[0] + " and " + quoted[1]
	default:
		list = strings.Join(quoted[:len(quoted)-1], ", ") + ", and " + quoted[len(quoted)-1]
	}
	plural := "s"
	if len(names) == 1 {
		plural = ""
	}
	return NewFailure("TypeError", fmt.Sprintf("%s() missing %d required positional argument%s: %s",
		function, len(names), plural, list))
}

// UnexpectedArgument is the TypeError Python raises for a keyword
// argument function does not take, e.g. "Endpoint.echo() got an
// unexpected keyword argument 'x'". Python names the first one only.
func UnexpectedArgument(function, name string) *Failure {
	return NewFailure("TypeError", fmt.Sprintf("%s() got an unexpected keyword argument '%s'", function, name))
}

// EncodeFailure appends the JSON of f, as serialize_remote_exception
// writes it: {"class", "module", "message", "tb", "args", "kwargs"}.
func EncodeFailure(dst []byte, f *Failure) ([]byte, error) {
	dst = append(dst, `{"class": `...)
	dst = appendPyString(dst, []byte(f.Class))
	dst = append(dst, `, "module": `...)
	dst = appendPyString(dst, []byte(f.Module))
	dst = append(dst, `, "message": `...)
	dst = appendPyString(dst, []byte(f.Message))
	dst = append(dst, `, "tb": [`...)
	tb := f.Traceback
	if tb == nil {
		last := f.qualifiedName() + "\n"
		if f.Message != "" {
			last = f.qualifiedName() + ": " + f.Message + "\n"
		}
		tb = []string{last}
	}
	for i, line := range tb {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = appendPyString(dst, []byte(line))
	}
	dst = append(dst, `], "args": `...)
	args := f.Args
	if args == nil && f.Message != "" {
		args = []any{f.Message}
	}
	var err error
	if args == nil {
		dst = append(dst, '[', ']')
	} else if dst, err = AppendValue(dst, args); err != nil {
		return dst, fmt.Errorf("failure args: %w", err)
	}
	dst = append(dst, `, "kwargs": `...)
	if f.Kwargs == nil {
		dst = append(dst, '{', '}')
	} else if dst, err = AppendValue(dst, f.Kwargs); err != nil {
		return dst, fmt.Errorf("failure kwargs: %w", err)
	}
	return append(dst, '}'), nil
}

// DecodeFailure decodes the JSON of a failure as
// deserialize_remote_exception reads it: absent members are empty, "tb"
// must be a list of strings, "args" a list and "kwargs" an object.
func DecodeFailure(data []byte) (*Failure, error) {
	v, err := DecodeValue(data)
	if err != nil {
		return nil, fmt.Errorf("failure: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the failure is not an object", ErrMessage)
	}
	f := &Failure{}
	for name, dst := range map[string]*string{"class": &f.Class, "module": &f.Module, "message": &f.Message} {
		switch s := m[name].(type) {
		case string:
			*dst = s
		case nil:
		default:
			return nil, fmt.Errorf("%w: failure %s is not a string", ErrMessage, name)
		}
	}
	switch tb := m["tb"].(type) {
	case nil:
	case []any:
		f.Traceback = make([]string, len(tb))
		for i, line := range tb {
			s, ok := line.(string)
			if !ok {
				return nil, fmt.Errorf("%w: failure tb line %d is not a string", ErrMessage, i)
			}
			f.Traceback[i] = s
		}
	default:
		return nil, fmt.Errorf("%w: failure tb is not a list", ErrMessage)
	}
	switch args := m["args"].(type) {
	case nil:
	case []any:
		f.Args = args
	default:
		return nil, fmt.Errorf("%w: failure args is not a list", ErrMessage)
	}
	switch kw := m["kwargs"].(type) {
	case nil:
	case map[string]any:
		f.Kwargs = kw
	default:
		return nil, fmt.Errorf("%w: failure kwargs is not an object", ErrMessage)
	}
	return f, nil
}
