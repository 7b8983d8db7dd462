package wasm

import (
	"errors"
	"fmt"
)

// Errors of [Module.Call], found in a [*CallError] with errors.Is. A
// deadline that expires answers errors.Is(err, context.DeadlineExceeded), a
// cancelled context errors.Is(err, context.Canceled), and an exception the
// guest raised is an [*abi.Error] found with errors.As.
var (
	// ErrNoSuchExport: the export is not one the module's manifest names.
	ErrNoSuchExport = errors.New("no such export in the module's manifest")
	// ErrClosed: the module is closed or closing; the call did not start.
	ErrClosed = errors.New("module is closed")
	// ErrInterrupted: Close stopped waiting for calls in flight and
	// closed the module while this call ran; it may have run in part.
	ErrInterrupted = errors.New("module closed while the call ran")
	// ErrTrap: the guest trapped (unreachable, out-of-bounds access, stack
	// overflow…) or exited (a Go guest's panic ends in exit code 2).
	ErrTrap = errors.New("guest trapped")
	// ErrMemoryLimit: the guest tried to grow its memory past the
	// tenant's memory_limit. At load: the module's initial memory alone
	// exceeds it.
	ErrMemoryLimit = errors.New("guest exceeded its memory limit")
	// ErrBadPointer: the guest returned a pointer and length that do not
	// lie inside its memory.
	ErrBadPointer = errors.New("guest returned a pointer outside its memory")
	// ErrResultTooLarge: the guest returned a result longer than the
	// result cap (max_result_size).
	ErrResultTooLarge = errors.New("guest result exceeds the size cap")
	// ErrBadResult: the guest returned bytes that are not a CBOR Result.
	ErrBadResult = errors.New("guest returned a malformed result")
	// ErrAlloc: wasmrpc.alloc could not give a buffer for the request.
	ErrAlloc = errors.New("guest could not allocate the request buffer")
)

// Errors of [Runtime.Load], found in a [*LoadError] with errors.Is.
var (
	// ErrInvalidModule: the bytes are not a WebAssembly module wazero
	// accepts, or the module lacks what every wasmrpcd module has (its
	// memory, imports this host provides).
	ErrInvalidModule = errors.New("not a valid wasmrpcd module")
	// ErrABIVersion: the module does not speak this host's ABI version,
	// or exports no wasmrpc.abi_version at all.
	ErrABIVersion = errors.New("ABI version mismatch")
	// ErrCommandModule: the module is a WASI command (_start without
	// _initialize), not a reactor.
	ErrCommandModule = errors.New("module is a WASI command, not a reactor")
	// ErrManifest: wasmrpc.manifest returned no valid manifest.
	ErrManifest = errors.New("invalid manifest")
	// ErrMissingExport: an export the ABI requires or the manifest names
	// is missing.
	ErrMissingExport = errors.New("missing export")
	// ErrSignature: an export has the wrong function signature.
	ErrSignature = errors.New("export has the wrong signature")
	// ErrInitialize: the module's _initialize trapped, exited or ran past
	// the call timeout.
	ErrInitialize = errors.New("module initialization failed")
	// ErrCompiler: the Config's Compiler failed other than by finding
	// the module invalid (its process was killed, or could not start).
	ErrCompiler = errors.New("the compiler failed")
)

// CallError is the error of [Module.Call]: which call failed, and why.
type CallError struct {
	// Module is the module's name, as given to [Runtime.Load].
	Module string
	// Export is the export called.
	Export string
	// Err is the cause: one of the Err* sentinels of Call wrapped with
	// detail, an [*abi.Error] the guest raised, or a context error.
	Err error
}

var _ error = (*CallError)(nil)

func (e *CallError) Error() string {
	return fmt.Sprintf("wasm: module %s, %s: %v", e.Module, e.Export, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// LoadError is the error of [Runtime.Load]: a module refused or failed
// while loading.
type LoadError struct {
	// Module is the module's name, as given to [Runtime.Load].
	Module string
	// Err is the cause, wrapping one of the Err* sentinels of Load.
	Err error
}

var _ error = (*LoadError)(nil)

func (e *LoadError) Error() string {
	return fmt.Sprintf("wasm: loading module %s: %v", e.Module, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }
