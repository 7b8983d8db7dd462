package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// Config configures a [Runtime]. The zero value is usable.
type Config struct {
	// CacheDir holds compiled modules across restarts; "" keeps them in
	// memory only, for the life of the Runtime. It must be private to
	// this process's user (see [NewRuntime]).
	CacheDir string
	// CacheKeyFile holds the key that authenticates each compiled module
	// in CacheDir (see [LoadCacheKey]); required with a CacheDir.
	CacheKeyFile string
	// Logger receives guest log lines, stdout and stderr (each with the
	// attribute module=<name>) and the runtime's own warnings; nil means
	// slog.Default().
	Logger *slog.Logger
	// Host serves the guest imports wasmrpc.call, cast and notify; nil
	// answers each with an error Result "host calls are not enabled".
	Host HostCalls
	// Compiler, when set, compiles each module the cache in CacheDir does
	// not hold yet before Load compiles it, so that Load finds it
	// compiled (see [Compiler]); it needs a CacheDir.
	Compiler Compiler
}

// Limits bound one module's instances: what a tenant's configuration
// says. Zero fields take the defaults.
type Limits struct {
	// MemoryLimit caps each instance's linear memory, in bytes, rounded
	// down to 64 KiB pages; 0 means 64 MiB.
	MemoryLimit uint64
	// CallTimeout bounds each call (and each instance's _initialize); the
	// caller's context can only shorten it; 0 means 30s.
	CallTimeout time.Duration
	// MaxInstances is how many instances, and so how many concurrent
	// calls, the module gets; 0 means 8.
	MaxInstances int
	// MaxResultSize caps the bytes a guest returns from one call; 0
	// means abi.DefaultMaxResultSize (4 MiB).
	MaxResultSize int
	// Budget bounds the guest log lines (log import, stdout, stderr),
	// host calls and notifications of the module's instances; share one
	// between the modules of a tenant. nil means a budget of the module's
	// own with budget.Default().
	Budget *budget.Tenant
	// StackLimit caps each call's stack, in bytes as the host counts
	// them (see stack.go); 0 means DefaultStackLimit.
	StackLimit uint64
}

// Default limits.
const (
	DefaultMemoryLimit  = 64 << 20
	DefaultCallTimeout  = 30 * time.Second
	DefaultMaxInstances = 8
	DefaultStackLimit   = 4 << 20
	maxStackLimit       = 256 << 20
)

const (
	pageSize    = 1 << 16
	maxMemory   = 1 << 32 // wasm32 addresses 4 GiB
	maxI32Bytes = 1<<31 - 1
)

// withDefaults fills the zero fields and checks the others.
func (l Limits) withDefaults() (Limits, error) {
	if l.MemoryLimit == 0 {
		l.MemoryLimit = DefaultMemoryLimit
	}
	if l.CallTimeout == 0 {
		l.CallTimeout = DefaultCallTimeout
	}
	if l.MaxInstances == 0 {
		l.MaxInstances = DefaultMaxInstances
	}
	if l.MaxResultSize == 0 {
		l.MaxResultSize = abi.DefaultMaxResultSize
	}
	if l.Budget == nil {
		l.Budget = budget.New("", budget.Default())
	}
	if l.StackLimit == 0 {
		l.StackLimit = DefaultStackLimit
	}
	switch {
	case l.MemoryLimit < pageSize || l.MemoryLimit > maxMemory:
		return l, fmt.Errorf("memory limit %d bytes is outside 64 KiB..4 GiB", l.MemoryLimit)
	case l.CallTimeout < 0:
		return l, fmt.Errorf("call timeout %v is negative", l.CallTimeout)
	case l.MaxInstances < 0:
		return l, fmt.Errorf("max instances %d is negative", l.MaxInstances)
	case l.MaxResultSize < 0 || l.MaxResultSize > maxI32Bytes:
		return l, fmt.Errorf("max result size %d is outside 0..2 GiB", l.MaxResultSize)
	case l.StackLimit < 64<<10 || l.StackLimit > maxStackLimit:
		return l, fmt.Errorf("stack limit %d bytes is outside 64 KiB..256 MiB", l.StackLimit)
	}
	l.MemoryLimit &^= pageSize - 1
	if l.MemoryLimit == maxMemory {
		// api.Memory.Size counts bytes in a uint32: keep one page short.
		l.MemoryLimit -= pageSize
	}
	return l, nil
}

// HostCalls serves the host imports a guest uses to reach the outside:
// wasmrpc.call, wasmrpc.cast and wasmrpc.notify. Methods run on the
// goroutine of the guest's own call and block it; ctx carries that call's
// deadline, already shortened by the request's timeout_ms.
//
// The request's Context is set: to the guest's own when it gave one, to
// the context of the request the guest is serving otherwise.
//
// An error of type [*abi.Error] reaches the guest as that exception (use
// it for a remote error or for a refusal, such as a target the tenant may
// not reach); a context error as oslo_messaging's MessagingTimeout; any
// other error as MessagingException.
type HostCalls interface {
	// Call makes an RPC call and returns its CBOR result value.
	Call(ctx context.Context, from Caller, req *abi.CallRequest) (value []byte, err error)
	// Cast sends an RPC cast.
	Cast(ctx context.Context, from Caller, req *abi.CallRequest) error
	// Notify emits a notification.
	Notify(ctx context.Context, from Caller, n *abi.Notification) error
}

// Caller says which module, and which of its exports, makes a host call:
// what a tenant's access policy decides on.
type Caller struct {
	// Module is the module's name, as given to [Runtime.Load].
	Module string
	// Export is the export being served ("rpc.echo"), or "_initialize".
	Export string
}
