package rpc

import (
	"context"
	"errors"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
)

// FailureOf turns the error of a dispatch into the remote exception the
// caller gets, and reports whether the exception was expected (logged
// without alarm, as oslo's ExpectedException):
//
//   - an [*oslo.Failure] goes as it is;
//   - an [*abi.Error], a guest's exception, keeps its class, module
//     (builtins for Python's built-in names when it gives none), message,
//     args and kwargs;
//   - [*NoSuchMethodError] and [*UnsupportedVersionError] become oslo's
//     NoSuchMethod and UnsupportedVersion;
//   - a deadline becomes builtins.TimeoutError;
//   - anything else becomes builtins.RuntimeError with the error's text.
//
// This is the one place where errors become oslo failures.
func FailureOf(err error) (f *oslo.Failure, expected bool) {
	var (
		failure     *oslo.Failure
		guest       *abi.Error
		noMethod    *NoSuchMethodError
		unsupported *UnsupportedVersionError
	)
	switch {
	case errors.As(err, &failure):
		return failure, false
	case errors.As(err, &guest):
		module := guest.Module
		if module == "" && oslo.IsBuiltinException(guest.Class) {
			module = oslo.ModuleBuiltins
		}
		return &oslo.Failure{
			Class:   guest.Class,
			Module:  module,
			Message: guest.Message,
			Args:    guest.Args,
			Kwargs:  guest.Kwargs,
		}, guest.Expected
	case errors.As(err, &noMethod):
		return oslo.NoSuchMethod(noMethod.Method), false
	case errors.As(err, &unsupported):
		return oslo.UnsupportedVersion(unsupported.Version, unsupported.Method), false
	case errors.Is(err, context.DeadlineExceeded):
		return &oslo.Failure{Class: "TimeoutError", Module: oslo.ModuleBuiltins, Message: err.Error()}, false
	default:
		return &oslo.Failure{Class: "RuntimeError", Module: oslo.ModuleBuiltins, Message: err.Error()}, false
	}
}
