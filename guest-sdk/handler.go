package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"unsafe"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Handler serves one RPC method or one notification priority through one
// wasm export. [Method] and [Listener] make handlers; [Register] lists them
// in the module's manifest; the module's //go:wasmexport function calls
// [Handler.Serve].
type Handler struct {
	name     string // method name, or notification priority
	export   string
	listener bool
	qual     string // the name Python's messages start with: name, or Class.name
	// method serves a method; listen a notification priority. Each binds
	// args, calls the function and encodes its success result into w, or
	// returns its error.
	method *method
	listen func(c *Context, args []byte, w *resultWriter) error
}

// Method makes the handler of the RPC method name. fn gets the request
// context and the call's keyword arguments bound to A, and returns the
// result (any value CBOR encodes; structs by their `cbor` or `json` field
// tags) or an error. A is a struct whose fields are the method's
// parameters or a map[string]V taking any keyword; see README.md for the
// `arg` tag.
//
//	var add = sdk.Method("add", func(c *sdk.Context, a struct{ A, B int }) (int, error) {
//		return a.A + a.B, nil
//	})
//
// Its export is "rpc.<name>" unless [Handler.WithExport] says otherwise.
// Method panics when A is not a type it can bind, as that is a mistake in
// the module's code that its first run shows.
//
// The binding of A is planned here, once: a call decodes each argument
// straight into its field, allocating nothing for numbers, bools and
// [Raw] values, one copy for a string.
func Method[A, R any](name string, fn func(c *Context, args A) (R, error)) *Handler {
	m, err := newMethod(reflect.TypeFor[A](), reflect.TypeFor[R]())
	if err != nil {
		panic(fmt.Sprintf("sdk.Method(%q): %v", name, err))
	}
	// The only code generated per handler: a call of fn with the bound
	// arguments, which it then clears, storing the result.
	m.call = func(c *Context, args, result unsafe.Pointer) error {
		pa := (*A)(args)
		r, err := fn(c, *pa)
		var zero A
		*pa = zero
		*(*R)(result) = r
		return err
	}
	return &Handler{
		name:   name,
		export: abi.MethodExportPrefix + name,
		qual:   name,
		method: m,
	}
}

// method is what Method plans for a handler, once.
type method struct {
	binder *binder
	argsT  reflect.Type
	resT   reflect.Type
	res    resultKind
	// args and result are the storage the wasm export's calls reuse,
	// one call at a time: an A and an R.
	args, result unsafe.Pointer
	call         func(c *Context, args, result unsafe.Pointer) error
}

// resultKind selects how a result is encoded: directly for the common
// types, by reflection for the rest.
type resultKind uint8

const (
	resultReflect resultKind = iota
	resultRaw                // Raw, written as it is
	resultAny                // an empty interface: Encode's type switch
	resultString             // string
	resultInt                // int or int64
	resultBool               // bool
)

func newMethod(argsT, resT reflect.Type) (*method, error) {
	b, err := newBinder(argsT)
	if err != nil {
		return nil, err
	}
	m := &method{binder: b, argsT: argsT, resT: resT,
		args: reflect.New(argsT).UnsafePointer(), result: reflect.New(resT).UnsafePointer()}
	switch k := resT.Kind(); {
	case resT == rawType:
		m.res = resultRaw
	case k == reflect.Interface && resT.NumMethod() == 0:
		m.res = resultAny
	case resT == reflect.TypeFor[string]():
		m.res = resultString
	case (resT == reflect.TypeFor[int]() || resT == reflect.TypeFor[int64]()) && resT.Size() == 8:
		m.res = resultInt
	case resT == reflect.TypeFor[bool]():
		m.res = resultBool
	}
	return m, nil
}

// clear zeroes the reused storage, as run leaves it when it returns:
// after a panic that skipped run's own clearing.
func (m *method) clear() {
	reflect.NewAt(m.argsT, m.args).Elem().SetZero()
	reflect.NewAt(m.resT, m.result).Elem().SetZero()
}

// run binds args, calls the function and writes its result. With reuse,
// it binds into and encodes from storage kept from call to call (the wasm
// export's path, one call at a time); without, into fresh values.
func (m *method) run(qual string, c *Context, args []byte, w *resultWriter, reuse bool) error {
	pa, pr := m.args, m.result
	if !reuse {
		pa, pr = reflect.New(m.argsT).UnsafePointer(), reflect.New(m.resT).UnsafePointer()
	}
	if err := m.binder.bind(qual, args, pa, w); err != nil {
		reflect.NewAt(m.argsT, pa).Elem().SetZero()
		return err
	}
	if err := m.call(c, pa, pr); err != nil {
		reflect.NewAt(m.resT, pr).Elem().SetZero()
		return err
	}
	var err error
	switch m.res {
	case resultRaw:
		r := (*Raw)(pr)
		if t := w.trusted[0]; unsafe.SliceData(t) == unsafe.SliceData(*r) && len(t) == len(*r) && len(t) > 0 {
			w.enc.AppendRaw(*r) // the first Raw argument, unchanged: checked already
		} else {
			err = w.raw(*r)
		}
		*r = nil
	case resultAny:
		r := (*any)(pr)
		err = w.value(*r)
		*r = nil
	case resultString:
		r := (*string)(pr)
		w.enc.Text(*r)
		*r = ""
	case resultInt:
		w.enc.Int(*(*int64)(pr))
	case resultBool:
		w.enc.Bool(*(*bool)(pr))
	default:
		rv := reflect.NewAt(m.resT, pr).Elem()
		err = w.reflectValue(rv)
		rv.SetZero()
	}
	return err
}

// Event is a notification as a [Listener] gets it.
type Event struct {
	PublisherID string         `cbor:"publisher_id"`
	EventType   string         `cbor:"event_type"`
	Payload     any            `cbor:"payload"`
	Metadata    map[string]any `cbor:"metadata"` // "message_id", "timestamp"
}

// Ack is what a listener does with a notification.
type Ack string

const (
	// Handled acknowledges the notification. The zero Ack means the same.
	Handled Ack = abi.NotifyHandled
	// Requeue has the broker deliver the notification again.
	Requeue Ack = abi.NotifyRequeue
)

// Listener makes the handler of notifications of priority ("info",
// "error", …; see abi.Priorities). An error from fn is logged by the host
// and requeues the notification, as an exception in a Python notification
// endpoint does. Its export is "notify.<priority>".
func Listener(priority string, fn func(c *Context, e Event) (Ack, error)) *Handler {
	return &Handler{
		name:     priority,
		export:   abi.NotifyExportPrefix + priority,
		listener: true,
		qual:     priority,
		listen: func(c *Context, args []byte, w *resultWriter) error {
			var e Event
			if len(args) == 0 || args[0]>>5 != 5 { // CBOR major type 5: map
				return builtinError("TypeError", "notification is not a CBOR map of publisher_id, event_type, payload, metadata")
			}
			if err := cbor.Unmarshal(args, &e); err != nil {
				return builtinError("TypeError", fmt.Sprintf("notification is not a CBOR map of publisher_id, event_type, payload, metadata: %v", cleanCBORError(err)))
			}
			ack, err := fn(c, e)
			if err != nil {
				return err
			}
			if ack == "" {
				ack = Handled
			}
			return w.value(string(ack))
		},
	}
}

// Name returns the method name, or the notification priority.
func (h *Handler) Name() string { return h.name }

// Export returns the name of the wasm export that serves h.
func (h *Handler) Export() string { return h.export }

// WithExport sets the name of the wasm export that serves h, for example
// "rpc.<namespace>.<method>" in a module that serves a method name in two
// namespaces. It returns h.
func (h *Handler) WithExport(name string) *Handler {
	h.export = name
	return h
}

// setClass sets the Python class name messages start with:
// "TestkitEndpoint.echo" instead of "echo".
func (h *Handler) setClass(class string) {
	h.qual = h.name
	if class != "" {
		h.qual = class + "." + h.name
	}
}

// Handle serves one call on the host, as the wasm export does: ctx and
// args are the CBOR request context and keyword arguments, the result the
// CBOR abi.Result. It lets a module's handlers be unit-tested without a
// wasm runtime. Calls of Handle may run concurrently.
func (h *Handler) Handle(ctx, args []byte) []byte {
	var w resultWriter
	return h.serve(&w, new(Context), ctx, args, false)
}

// serve runs the handler with context c and encodes its Result with w. A
// panic in the handler becomes an error result: its value when it is an
// error holding an *Error, a RuntimeError "panic: …" otherwise, logged
// with its stack.
func (h *Handler) serve(w *resultWriter, c *Context, ctx, args []byte, reuse bool) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			if reuse && h.method != nil {
				h.method.clear()
			}
			out = w.error(toABI(panicError(h.qual, r)))
		}
		c.release()
	}()
	if err := c.reset(h.name, ctx); err != nil {
		return w.error(toABI(err))
	}
	w.start()
	var err error
	if h.method != nil {
		err = h.method.run(h.qual, c, args, w, reuse)
	} else {
		err = h.listen(c, args, w)
	}
	if err != nil {
		if ee, ok := err.(*encodeError); ok { // run returns it as it is
			return w.error(toABI(ee.python()))
		}
		return w.error(toABI(err))
	}
	return w.bytes()
}

// panicError turns a recovered panic value into the error raised to the
// caller, logging the stack.
func panicError(fn string, r any) error {
	if err, ok := r.(error); ok {
		var se *Error
		if errors.As(err, &se) {
			return se
		}
	}
	Logf(LevelError, "panic in %s(): %v\n%s", fn, r, debug.Stack())
	return &Error{Class: GenericClass, Module: "builtins", Message: fmt.Sprintf("panic: %v", r)}
}
