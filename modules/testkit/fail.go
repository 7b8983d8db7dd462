package main

import (
	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

// raise returns the error the Python endpoint's fail raises:
//
//	cls = getattr(builtins, kind, None)
//	if cls is a built-in subclass of Exception: raise cls(message)
//	else: raise type(kind, (Exception,), {"__module__": ...})(message)
//
// with Python's own quirks for built-in classes: IOError and
// EnvironmentError are OSError, str(KeyError(m)) is repr(m), and the
// classes whose constructor does not take one argument raise Python's
// TypeError instead. A class that is not a built-in lives in module
// "testkit"; the built-ins that are not Exceptions (SystemExit, …) keep
// module "builtins", which Python clients refuse to rebuild, as for the
// Python endpoint. An empty kind is a ValueError.
func raise(kind, message string) error {
	switch kind {
	case "":
		return sdk.NewError("ValueError", "fail() argument 'kind' must not be empty")
	case "IOError", "EnvironmentError":
		kind = "OSError"
	case "KeyError":
		return sdk.NewError(kind, py.Repr(message)).WithArgs(message)
	case "ExceptionGroup", "BaseExceptionGroup":
		return sdk.NewError("TypeError", "BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)")
	case "UnicodeDecodeError", "UnicodeEncodeError":
		return sdk.NewError("TypeError", "function takes exactly 5 arguments (1 given)")
	case "UnicodeTranslateError":
		return sdk.NewError("TypeError", "function takes exactly 4 arguments (1 given)")
	}
	if sdk.IsBuiltin(kind) {
		return sdk.NewError(kind, message).WithModule("builtins")
	}
	return sdk.NewError(kind, message).WithModule("testkit")
}
