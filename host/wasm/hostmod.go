package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// hostImport is one function of the wasmrpc host module.
type hostImport struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostImports are the imports ABI version 1 provides, with their
// signatures.
var hostImports = []hostImport{
	{abi.ImportLog, []api.ValueType{i32, i32, i32}, nil},
	{abi.ImportCall, []api.ValueType{i32, i32}, []api.ValueType{i32}},
	{abi.ImportCast, []api.ValueType{i32, i32}, []api.ValueType{i32}},
	{abi.ImportNotify, []api.ValueType{i32, i32}, []api.ValueType{i32}},
	{abi.ImportResponse, []api.ValueType{i32, i32}, []api.ValueType{i32}},
}

// instantiateHost instantiates the wasmrpc host module in rt, serving
// the instances of m.
func (m *Module) instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	fns := map[string]api.GoModuleFunc{
		abi.ImportLog:      m.hostLog,
		abi.ImportCall:     m.hostCall,
		abi.ImportCast:     m.hostCast,
		abi.ImportNotify:   m.hostNotify,
		abi.ImportResponse: m.hostResponse,
	}
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, imp := range hostImports {
		b.NewFunctionBuilder().
			WithGoModuleFunction(fns[imp.name], imp.params, imp.results).
			Export(imp.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// caller returns the instance that made a host call.
func (m *Module) caller(mod api.Module) *instance {
	v, ok := m.instances.Load(mod.Name())
	if !ok {
		// Every instance is registered before it runs any code.
		panic(fmt.Sprintf("wasm: host call from unknown instance %q", mod.Name()))
	}
	return v.(*instance)
}

// errno writes a negated errno as an import's i32 result.
func errno(stack []uint64, e int32) { stack[0] = api.EncodeI32(-e) }

func (m *Module) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	in := m.caller(mod)
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		m.guestWarn(ctx, "guest log line lies outside its memory; dropped",
			"instance", in.name, "export", in.export, "ptr", ptr, "len", n)
		return
	}
	if len(b) > maxLogLine {
		b = b[:maxLogLine]
	}
	var l slog.Level
	switch level {
	case abi.LogDebug:
		l = slog.LevelDebug
	case abi.LogWarn:
		l = slog.LevelWarn
	case abi.LogError:
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	if l, ok = m.keep(ctx, budget.StreamLog, l, len(b)); ok {
		m.log.Log(ctx, l, sanitize(b), "stream", "log")
	}
}

// keep decides on a guest log line of n bytes from stream at level l:
// the level it is written at, or false when it is dropped (below the
// tenant's level or the daemon's, or over the tenant's log budget).
func (m *Module) keep(ctx context.Context, s budget.Stream, l slog.Level, n int) (slog.Level, bool) {
	bt := m.lim.Budget
	l, ok := bt.Level(s, l, n)
	if !ok || !m.log.Enabled(ctx, l) {
		return l, false
	}
	return l, bt.TakeLog(s, n)
}

// guestWarnCost is what one of the host's own warnings about a guest's
// request costs of the guest's log budget: the guest decides how often
// they are written.
const guestWarnCost = 256

// guestWarn logs a warning about something a guest did, within the
// guest's log budget.
func (m *Module) guestWarn(ctx context.Context, msg string, args ...any) {
	if _, ok := m.keep(ctx, budget.StreamLog, slog.LevelWarn, guestWarnCost); ok {
		m.log.Warn(msg, args...)
	}
}

// request reads the bytes of a guest's request, or answers errno 1.
func (m *Module) request(mod api.Module, stack []uint64) ([]byte, bool) {
	b, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		errno(stack, abi.ErrnoBadRequest)
	}
	return b, ok
}

func (m *Module) hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	m.hostRPC(ctx, mod, stack, false)
}

func (m *Module) hostCast(ctx context.Context, mod api.Module, stack []uint64) {
	m.hostRPC(ctx, mod, stack, true)
}

// hostRPC serves wasmrpc.call and, when cast, wasmrpc.cast: both take a
// CallRequest; a cast holds a null value or the refusal.
func (m *Module) hostRPC(ctx context.Context, mod api.Module, stack []uint64, cast bool) {
	in := m.caller(mod)
	if err := m.lim.Budget.HostCall(); err != nil {
		in.hold(stack, nil, err)
		return
	}
	b, ok := m.request(mod, stack)
	if !ok {
		return
	}
	req, err := decodeCallRequest(b)
	if err != nil {
		m.guestWarn(ctx, "guest call request refused", "instance", in.name, "cast", cast, "err", err)
		errno(stack, abi.ErrnoBadRequest)
		return
	}
	if err := m.lim.Budget.Publish(len(b)); err != nil {
		in.hold(stack, nil, err)
		return
	}
	req.Context = in.contextOr(req.Context)
	var value []byte
	switch {
	case m.host == nil:
		err = errHostCallsDisabled
	case cast:
		ctx, cancel := in.hostContext(ctx, req.TimeoutMillis)
		err = m.host.Cast(ctx, in.caller(), req)
		cancel()
	default:
		ctx, cancel := in.hostContext(ctx, req.TimeoutMillis)
		value, err = m.host.Call(ctx, in.caller(), req)
		cancel()
	}
	in.hold(stack, value, err)
}

func (m *Module) hostNotify(ctx context.Context, mod api.Module, stack []uint64) {
	in := m.caller(mod)
	if err := m.lim.Budget.HostCall(); err != nil {
		in.hold(stack, nil, err)
		return
	}
	b, ok := m.request(mod, stack)
	if !ok {
		return
	}
	n, err := decodeNotification(b)
	if err != nil {
		m.guestWarn(ctx, "guest notification refused", "instance", in.name, "err", err)
		errno(stack, abi.ErrnoBadRequest)
		return
	}
	if err := m.lim.Budget.Notification(len(n.Payload)); err != nil {
		in.hold(stack, nil, err)
		return
	}
	if err := m.lim.Budget.Publish(len(n.Payload)); err != nil {
		in.hold(stack, nil, err)
		return
	}
	n.Context = in.contextOr(n.Context)
	if m.host == nil {
		err = errHostCallsDisabled
	} else {
		ctx, cancel := in.hostContext(ctx, 0)
		err = m.host.Notify(ctx, in.caller(), n)
		cancel()
	}
	in.hold(stack, nil, err)
}

func (m *Module) hostResponse(_ context.Context, mod api.Module, stack []uint64) {
	in := m.caller(mod)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	switch {
	case in.held == nil:
		errno(stack, abi.ErrnoNoResponse)
	case uint64(n) < uint64(len(in.held)):
		errno(stack, abi.ErrnoTooSmall)
	case !mod.Memory().Write(ptr, in.held):
		errno(stack, abi.ErrnoBadRequest)
	default:
		stack[0] = api.EncodeI32(int32(len(in.held)))
		in.held = nil
	}
}

// caller says who is calling, for HostCalls.
func (in *instance) caller() Caller {
	return Caller{Module: in.m.name, Export: in.export}
}

// contextOr returns a guest request's own context, or else a copy of the
// context of the request being served.
func (in *instance) contextOr(c []byte) []byte {
	switch {
	case len(c) > 0:
		return c
	case len(in.reqCtx) == 0:
		return []byte{0xa0}
	}
	return bytes.Clone(in.reqCtx)
}

var errHostCallsDisabled = &abi.Error{
	Class:   "NotImplementedError",
	Module:  "builtins",
	Message: "host calls are not enabled",
}

// hold encodes the outcome of a host call as the Result the guest fetches
// with wasmrpc.response, and answers its length.
func (in *instance) hold(stack []uint64, value []byte, err error) {
	var res []byte
	if err == nil {
		if len(value) == 0 {
			value = cborNull
		}
		res = make([]byte, 0, len(valueHeader)+len(value))
		res = append(append(res, valueHeader...), value...)
	} else {
		res = encodeError(err)
	}
	if len(res) > in.m.lim.MaxResultSize {
		res = encodeError(&abi.Error{
			Class:  "MessagingException",
			Module: "oslo_messaging.exceptions",
			Message: fmt.Sprintf("the response of %d bytes exceeds the result cap of %d bytes",
				len(res), in.m.lim.MaxResultSize),
		})
	}
	in.held = res
	stack[0] = api.EncodeI32(int32(len(res)))
}

// encodeError encodes a host call's error as an error Result.
func encodeError(err error) []byte {
	var e *abi.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e = &abi.Error{Class: "MessagingTimeout", Module: "oslo_messaging.exceptions", Message: err.Error()}
	default:
		e = &abi.Error{Class: "MessagingException", Module: "oslo_messaging.exceptions", Message: err.Error()}
	}
	b, merr := cborcodec.Marshal(abi.Result{Error: e})
	if merr != nil {
		b, _ = cborcodec.Marshal(abi.Result{Error: &abi.Error{
			Class: e.Class, Module: e.Module, Message: e.Message,
		}})
	}
	return b
}

// hostContext bounds a host call by the request's timeout_ms, if any,
// within ctx: the context of the guest's own call, which carries its
// deadline and ends when Close stops the module.
func (in *instance) hostContext(ctx context.Context, ms uint32) (context.Context, context.CancelFunc) {
	dl := in.deadline()
	if ms > 0 {
		if own := time.Now().Add(time.Duration(ms) * time.Millisecond); own.Before(dl) {
			dl = own
		}
	}
	return context.WithDeadline(ctx, dl)
}
