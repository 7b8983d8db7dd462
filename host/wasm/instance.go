package wasm

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// instance is one instantiation of a module with what the host keeps for
// it. It is used by one goroutine at a time: the pool hands it to one
// call, and a host import runs on the goroutine of the call that made it.
type instance struct {
	m      *Module
	name   string // wazero module name, "<module>#<n>"
	mod    api.Module
	mem    api.Memory
	capped *cappedMemory
	// stackLeft and stackLow are the instance's stack budget and its
	// low-water mark (see stack.go).
	stackLeft, stackLow api.MutableGlobal
	// stackPeaks is how deep each function went since it was looked up
	// (see stackUsed), stackKept their sum.
	stackPeaks []uint64
	stackKept  uint64

	// fns are the manifest's exports, by index in Module.exportNames.
	fns         []api.Function
	alloc, free api.Function
	stack       []uint64 // parameters and results of CallWithStack

	// buf is the host-owned input buffer in guest memory, from
	// wasmrpc.alloc; bufCap its size (0: none yet).
	buf, bufCap uint32

	// The call being served, for the host imports.
	export  string
	reqCtx  []byte
	started time.Time
	// held is the response waiting for wasmrpc.response.
	held []byte
	// raw receives a result's value before it is copied out.
	raw cbor.RawMessage

	// cc is the context of every call into the instance; timer ends it
	// at the call timeout (see callContext).
	cc    callContext
	timer *time.Timer
	// broken is set when the instance must not serve again: its call
	// failed, or its context ended.
	broken bool

	stdout, stderr *lineWriter
}

// newInstance instantiates the module, runs its _initialize within the
// call timeout and resolves the exports the host calls.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{
		m:     m,
		name:  fmt.Sprintf("%s#%d", m.name, m.seq.Add(1)),
		stack: make([]uint64, 4),
		cc:    newCallContext(),
	}
	in.timer = time.AfterFunc(time.Hour, func() { in.cc.end(context.DeadlineExceeded) })
	in.timer.Stop()
	in.stdout = newLineWriter(m, slog.LevelInfo, budget.StreamStdout)
	in.stderr = newLineWriter(m, slog.LevelWarn, budget.StreamStderr)
	cfg := wazero.NewModuleConfig().
		WithName(in.name).
		WithStartFunctions(). // _initialize is run below, to tell its failures apart
		WithStdout(in.stdout).
		WithStderr(in.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(in.nanosleep).
		WithRandSource(crand.Reader)
	ctx = experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(capacity, _ uint64) experimental.LinearMemory {
			in.capped = newCappedMemory(m.memCap, capacity)
			return in.capped
		}))
	m.instances.Store(in.name, in)
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		m.instances.Delete(in.name)
		if in.capped != nil && in.capped.refused {
			return nil, fmt.Errorf("%w: instantiating: %v", ErrMemoryLimit, err)
		}
		return nil, fmt.Errorf("%w: instantiating: %v", ErrInvalidModule, err)
	}
	in.mod = mod
	in.mem = mod.ExportedMemory(abi.ExportMemory)
	if in.mem == nil || in.capped == nil {
		in.close()
		return nil, fmt.Errorf("%w: it defines no memory named %q", ErrInvalidModule, abi.ExportMemory)
	}
	left, _ := mod.ExportedGlobal(exportStackLeft).(api.MutableGlobal)
	low, _ := mod.ExportedGlobal(exportStackLow).(api.MutableGlobal)
	if left == nil || low == nil {
		in.close()
		return nil, fmt.Errorf("%w: the stack budget's globals are missing", ErrInvalidModule)
	}
	in.stackLeft, in.stackLow = left, low
	in.stackLeft.Set(m.lim.StackLimit)
	in.stackLow.Set(m.lim.StackLimit)
	if init := mod.ExportedFunction(abi.ExportInitialize); init != nil {
		if err := in.invoke(ctx, init, abi.ExportInitialize, nil); err != nil {
			in.close()
			return nil, fmt.Errorf("%w: %s: %w", ErrInitialize, abi.ExportInitialize, err)
		}
	}
	in.alloc = mod.ExportedFunction(abi.ExportAlloc)
	in.free = mod.ExportedFunction(abi.ExportFree)
	if m.exportNames != nil {
		in.resolve(m.exportNames)
	}
	return in, nil
}

// resolve looks up the manifest's exports once, for every later call.
func (in *instance) resolve(names []string) {
	in.fns = make([]api.Function, len(names))
	if len(in.stackPeaks) != len(names)+slotsExtra {
		in.stackPeaks = make([]uint64, len(names)+slotsExtra)
	}
	for i, name := range names {
		in.fns[i] = in.mod.ExportedFunction(name)
	}
}

// invoke calls fn with the parameters in in.stack, within the call
// timeout and ctx, and returns a precise error when the guest fails. The
// results are in in.stack.
func (in *instance) invoke(ctx context.Context, fn api.Function, export string, reqCtx []byte) error {
	in.export = export
	in.reqCtx = reqCtx
	in.held = nil
	in.capped.refused = false
	in.stderr.mark()
	in.started = time.Now()
	in.cc.parent = ctx
	in.cc.deadline = in.started.Add(in.m.lim.CallTimeout)
	in.stackLow.Set(in.m.lim.StackLimit)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { in.cc.end(ctx.Err()) })
	}
	in.timer.Reset(in.m.lim.CallTimeout)

	err := fn.CallWithStack(&in.cc, in.stack)

	fired := !in.timer.Stop()
	if stop != nil {
		stop()
	}
	in.reqCtx = nil
	in.held = nil
	if ended := in.cc.Err(); ended != nil || fired {
		// The call's context ended: wazero is closing the instance, even
		// if the guest returned first.
		in.broken = true
		if err == nil {
			err = exitErrorOf(ended)
		}
	}
	if err != nil {
		in.broken = true
		return in.failure(err)
	}
	return nil
}

// exitErrorOf is the error wazero answers for a call whose context ended
// with err.
func exitErrorOf(err error) error {
	if errors.Is(err, context.Canceled) {
		return sys.NewExitError(sys.ExitCodeContextCanceled)
	}
	return sys.NewExitError(sys.ExitCodeDeadlineExceeded)
}

// deadline is when the call being served must end, for the host imports.
func (in *instance) deadline() time.Time {
	d, _ := in.cc.Deadline()
	return d
}

// call calls the export with index idx. A non-nil error that is not an
// *abi.Error means the instance is broken and must be discarded.
func (in *instance) call(ctx context.Context, idx int, reqCtx, args []byte) ([]byte, error) {
	n := len(reqCtx) + len(args)
	if err := in.reserve(ctx, n); err != nil {
		return nil, err
	}
	view, ok := in.mem.Read(in.buf, uint32(n))
	if !ok {
		in.broken = true
		return nil, fmt.Errorf("%w: wasmrpc.alloc gave %d bytes at 0x%x, memory is %d bytes",
			ErrBadPointer, in.bufCap, in.buf, in.mem.Size())
	}
	copy(view, reqCtx)
	copy(view[len(reqCtx):], args)

	st := in.stack
	st[0] = uint64(in.buf)
	st[1] = uint64(len(reqCtx))
	st[2] = uint64(in.buf) + uint64(len(reqCtx))
	st[3] = uint64(len(args))
	if err := in.invoke(ctx, in.fns[idx], in.m.exportNames[idx], reqCtx); err != nil {
		return nil, err
	}
	in.stackUsed(idx)
	ptr, size, err := guestSpan(st[0], uint64(in.mem.Size()), in.m.lim.MaxResultSize)
	if err != nil {
		in.broken = true
		return nil, err
	}
	b, _ := in.mem.Read(ptr, size)
	value, raised, err := decodeResult(b, &in.raw)
	if err != nil {
		in.broken = true
		return nil, err
	}
	if raised != nil {
		return nil, raised
	}
	return value, nil
}

// reserve makes the input buffer hold at least n bytes.
func (in *instance) reserve(ctx context.Context, n int) error {
	if uint64(n) <= uint64(in.bufCap) {
		return nil
	}
	if uint64(n) > in.m.lim.MemoryLimit {
		return fmt.Errorf("%w: the request's %d bytes exceed the memory limit of %s",
			ErrMemoryLimit, n, formatBytes(in.m.lim.MemoryLimit))
	}
	size := uint64(in.bufCap) * 2
	if size < uint64(n) {
		size = uint64(n)
	}
	if size < 1024 {
		size = 1024
	}
	if size > in.m.lim.MemoryLimit {
		size = uint64(n)
	}
	st := in.stack
	if in.bufCap > 0 {
		st[0], st[1] = uint64(in.buf), uint64(in.bufCap)
		err := in.invoke(ctx, in.free, abi.ExportFree, nil)
		in.buf, in.bufCap = 0, 0
		if err != nil {
			return fmt.Errorf("%s: %w", abi.ExportFree, err)
		}
		in.stackUsed(len(in.fns) + slotFree)
	}
	st[0] = size
	if err := in.invoke(ctx, in.alloc, abi.ExportAlloc, nil); err != nil {
		return fmt.Errorf("%s: %w", abi.ExportAlloc, err)
	}
	in.stackUsed(len(in.fns) + slotAlloc)
	in.broken = true // until the buffer is checked
	ptr := uint32(st[0])
	switch {
	case ptr == 0 && in.capped.refused:
		return fmt.Errorf("%w (%s): wasmrpc.alloc(%d) found no memory",
			ErrMemoryLimit, formatBytes(in.m.lim.MemoryLimit), size)
	case ptr == 0:
		return fmt.Errorf("%w: wasmrpc.alloc(%d) returned 0", ErrAlloc, size)
	case uint64(ptr)+size > uint64(in.mem.Size()):
		return fmt.Errorf("%w: wasmrpc.alloc(%d) returned 0x%x, memory is %d bytes",
			ErrBadPointer, size, ptr, in.mem.Size())
	}
	in.buf, in.bufCap = ptr, uint32(size)
	in.broken = false
	return nil
}

// failure turns the error of a call into the guest into a precise one.
func (in *instance) failure(err error) error {
	m := in.m
	if m.killed.Load() {
		return ErrInterrupted
	}
	m.log.Warn("guest failed; its instance is discarded",
		"instance", in.name, "export", in.export, "err", err)
	stderr := ""
	if line := in.stderr.firstLine(); line != "" {
		stderr = fmt.Sprintf(" (stderr: %s)", truncate(line, 200))
	}
	if in.capped != nil && in.capped.refused {
		return fmt.Errorf("%w of %s: memory.grow was refused%s",
			ErrMemoryLimit, formatBytes(m.lim.MemoryLimit), stderr)
	}
	if in.stackLeft != nil && int32(in.stackLeft.Get()) < 0 {
		return fmt.Errorf("%w: the call stack passed its limit of %s (recursion too deep)%s",
			ErrMemoryLimit, formatBytes(m.lim.StackLimit), stderr)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: the call ran past its deadline after %v (call timeout %v)",
				context.DeadlineExceeded, time.Since(in.started).Round(time.Millisecond), m.lim.CallTimeout)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: the call was cancelled", context.Canceled)
		}
		return fmt.Errorf("%w: the guest exited with code %d%s", ErrTrap, exit.ExitCode(), stderr)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("%w: %s%s", ErrTrap, msg, stderr)
}

// nanosleep is the guest's WASI sleep. When the call it serves ends
// first, it closes the instance (safe here, on the call's goroutine inside
// a host function), so that the guest stops as soon as it resumes instead
// of running on.
func (in *instance) nanosleep(ns int64) {
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-in.cc.done:
		_ = in.mod.CloseWithExitCode(context.Background(), exitErrorOf(in.cc.Err()).(*sys.ExitError).ExitCode())
	}
}

// close closes the wazero instance and logs what it left unterminated.
func (in *instance) close() {
	in.timer.Stop()
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
	in.stdout.flush()
	in.stderr.flush()
	in.m.instances.Delete(in.name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// formatBytes writes a byte count as the config does: 64MiB, 512KiB.
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
