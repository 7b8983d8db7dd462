// Package wasm runs wasmrpcd guest modules on wazero: it compiles them
// once, validates them against the ABI (package abi), keeps a pool of
// instances per module, and calls their exports under the tenant's
// limits. It knows nothing of AMQP or oslo.messaging.
//
//	rt, err := wasm.NewRuntime(ctx, wasm.Config{CacheDir: dir, Logger: log})
//	m, err := rt.Load(ctx, "testkit", wasmBytes, wasm.Limits{MaxInstances: 4})
//	value, err := m.Call(ctx, "rpc.echo", ctxCBOR, argsCBOR)
//	switch {
//	case errors.As(err, new(*abi.Error)):              // the guest raised an exception
//	case errors.Is(err, context.DeadlineExceeded):     // past the deadline
//	case errors.Is(err, wasm.ErrTrap), errors.Is(err, wasm.ErrMemoryLimit): …
//	}
//
// # Loading
//
// [Runtime.Load] refuses, with a [*LoadError] naming the reason, bytes
// that are not a WebAssembly module (ErrInvalidModule), a module that does
// not speak this host's ABI version (ErrABIVersion, decided before
// anything else about the module is read, as go-plugin negotiates its
// protocol), a WASI command instead of a reactor (ErrCommandModule), a
// memory that starts above the limit, or tables that could hold more
// than it (ErrMemoryLimit), a table import (ErrInvalidModule), a failing
// _initialize (ErrInitialize), a manifest that does not decode or check
// (ErrManifest), and exports that are missing or have the wrong signature
// (ErrMissingExport, ErrSignature).
//
// # Sandbox
//
// Each instance gets WASI preview 1 with no preopened directory, no
// arguments, no environment and no sockets; a real clock and
// crypto/rand randomness; stdout and stderr logged line by line with
// module=<name>. Its sleeps (poll_oneoff) end with the call they belong
// to. The host imports of module "wasmrpc" (log, call, cast, notify,
// response) are served by [Config.Host].
//
// Limits ([Limits]) are per module: each instance's memory and tables
// are capped by MemoryLimit (a grow past it answers -1 and, when the
// guest then fails, ErrMemoryLimit; a table without a declared maximum
// cannot grow), each call's stack by StackLimit (a call past it fails with
// ErrMemoryLimit), each call by CallTimeout and by the caller's context
// (the runtime is built WithCloseOnContextDone, so closing an instance
// stops the guest at its next loop or call), each result by
// MaxResultSize. Limits.Budget (a *budget.Tenant, shared between the
// modules of a tenant) bounds what the guest makes the host do: its log
// lines, stdout and stderr are dropped past the budget's bytes a second,
// its host calls and notifications refused past their rates with an
// error Result of class RateLimitExceeded.
//
// # Pool
//
// A module has at most MaxInstances instances, so at most that many
// concurrent calls; more callers wait for an instance until their
// context ends. Load leaves one instance ready. Whenever a call takes the
// last idle instance, or a broken instance is discarded, a background
// goroutine (owned by the module; Close waits for it) instantiates a
// spare, so that a burst finds instances ready ahead of need; a caller
// instantiates one itself only when calls arrive faster than that.
// Instances never shrink back; an idle module holds at most two.
//
// A call that fails for any reason but an exception the guest raised
// discards its instance: its state can no longer be trusted. The call
// gets the error, the pool replaces the instance, and no other call
// notices.
//
// Each instance keeps a host-owned input buffer, obtained from
// wasmrpc.alloc and reused for every call that fits in it (doubled with
// wasmrpc.free and wasmrpc.alloc when one does not), resolves its
// exports once, and enforces the call timeout with one timer re-armed
// for each call: a call costs one export invocation beyond the copies of
// the arguments in and the result out.
//
// # Locks
//
// Module.mu (closing and calls in flight) and pool.mu (instance counts)
// are never held together, nor while calling into a guest; Runtime.mu is
// never held while a module's lock is. An instance is used by one
// goroutine at a time and needs no lock.
package wasm
