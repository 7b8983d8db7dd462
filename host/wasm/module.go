package wasm

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Module is a loaded, validated module with its pool of instances. Its
// methods are safe for concurrent use.
type Module struct {
	name     string
	digest   string
	size     int
	manifest *abi.Manifest
	lim      Limits
	// memCap is the cap of each instance's linear memory: the memory
	// limit less what its tables can take (see memoryCap).
	memCap uint64
	log    *slog.Logger
	host   HostCalls
	owner  *Runtime

	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// exports maps each export the manifest names to its index in
	// exportNames and in every instance's fns.
	exports     map[string]int
	exportNames []string

	// instances finds the instance a host import is called from, by its
	// wazero module name.
	instances sync.Map
	seq       atomic.Uint64
	pool      *pool

	mu       sync.Mutex // guards closing, inflight, drained
	closing  bool
	inflight int
	drained  chan struct{}

	// killed is set when Close stopped waiting for calls in flight and
	// ended them.
	killed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Name returns the name the module was loaded under.
func (m *Module) Name() string { return m.name }

// Manifest returns the module's manifest. It must not be modified.
func (m *Module) Manifest() *abi.Manifest { return m.manifest }

// Digest returns the SHA-256 of the module's bytes, in hex.
func (m *Module) Digest() string { return m.digest }

// Size returns the length of the module's bytes.
func (m *Module) Size() int { return m.size }

// Limits returns the limits the module runs under, defaults filled in.
func (m *Module) Limits() Limits { return m.lim }

// Call calls export, one of the exports the manifest names, with the CBOR
// request context and keyword arguments (both CBOR maps; nil or empty
// means {}), and returns the CBOR value of the result.
//
// The call runs in an idle instance of the module, waiting for one
// (until ctx ends) when all MaxInstances are busy; it then runs for at
// most the call timeout, or until ctx ends. The returned value is
// well-formed CBOR within the ABI's nesting and size limits; decode it
// with cborcodec.Unmarshal, which also checks the rest (valid UTF-8, text map
// keys, no duplicate keys).
//
// Every error is a [*CallError]. An exception the guest raised is an
// [*abi.Error] in it, and the instance serves on. Any other failure (a
// trap, the deadline, the memory limit, a bad pointer, an oversized or
// malformed result) discards the instance, which the pool replaces; other
// calls and instances are not affected. ErrClosed means the call never
// started; ErrInterrupted that Close stopped it midway.
func (m *Module) Call(ctx context.Context, export string, reqCtx, args []byte) ([]byte, error) {
	idx, ok := m.exports[export]
	if !ok {
		return nil, &CallError{Module: m.name, Export: export, Err: ErrNoSuchExport}
	}
	if err := ctx.Err(); err != nil {
		// Running the guest would only have wazero close the instance.
		return nil, &CallError{Module: m.name, Export: export, Err: err}
	}
	if !m.enter() {
		return nil, &CallError{Module: m.name, Export: export, Err: ErrClosed}
	}
	defer m.leave()
	if len(reqCtx) == 0 {
		reqCtx = emptyMap
	}
	if len(args) == 0 {
		args = emptyMap
	}
	in, err := m.acquire(ctx)
	if err != nil {
		return nil, &CallError{Module: m.name, Export: export, Err: err}
	}
	value, err := in.call(ctx, idx, reqCtx, args)
	m.release(in)
	if err != nil {
		return nil, &CallError{Module: m.name, Export: export, Err: err}
	}
	return value, nil
}

// enter counts a call in, unless the module is closing.
func (m *Module) enter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.inflight++
	return true
}

func (m *Module) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	if m.closing && m.inflight == 0 {
		close(m.drained)
	}
}

// killGrace bounds how long a forced Close waits for the calls it ended
// to return: a guest stops at its next loop or call, a host call when
// its context ends, unless HostCalls ignores it.
const killGrace = time.Second

// Close shuts the module down gracefully: new calls fail with ErrClosed
// at once, calls in flight run on until they end or ctx does (then they
// are stopped, their host calls cancelled, and they answer
// ErrInterrupted), and then every instance is closed. It is idempotent;
// later calls wait for the first and return its result, which is ctx's
// error when it had to stop calls.
func (m *Module) Close(ctx context.Context) error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closing = true
		m.drained = make(chan struct{})
		if m.inflight == 0 {
			close(m.drained)
		}
		m.mu.Unlock()

		select {
		case <-m.drained:
		case <-ctx.Done():
			m.closeErr = ctx.Err()
			m.kill()
		}
		m.closePool()
		if err := m.rt.Close(context.Background()); err != nil && m.closeErr == nil {
			m.closeErr = err
		}
		if m.owner != nil {
			m.owner.forget(m)
		}
	})
	return m.closeErr
}

// kill ends the context of every instance, which stops the calls in
// flight, and waits for them a little.
func (m *Module) kill() {
	m.killed.Store(true)
	m.pool.stop()
	m.instances.Range(func(_, v any) bool {
		v.(*instance).cc.end(context.Canceled)
		return true
	})
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-m.drained:
	case <-t.C:
		m.log.Warn("calls in flight did not stop within the grace period; closing the module under them",
			"grace", killGrace)
	}
}
