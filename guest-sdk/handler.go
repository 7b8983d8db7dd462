package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// Handler serves one RPC method or one notification priority through one
// wasm export. [Method] and [Listener] make handlers; [Register] lists them
// in the module's manifest; the module's //go:wasmexport function calls
// [Handler.Serve].
type Handler struct {
	name     string // method name, or notification priority
	export   string
	listener bool
	class    string // Python class name for messages, from the endpoint
	run      func(fn string, c *Context, args []byte) (any, error)
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
func Method[A, R any](name string, fn func(c *Context, args A) (R, error)) *Handler {
	b, err := newBinder(reflect.TypeFor[A]())
	if err != nil {
		panic(fmt.Sprintf("sdk.Method(%q): %v", name, err))
	}
	return &Handler{
		name:   name,
		export: abi.MethodExportPrefix + name,
		run: func(qualname string, c *Context, args []byte) (any, error) {
			var a A
			if err := b.bind(qualname, args, reflect.ValueOf(&a).Elem()); err != nil {
				return nil, err
			}
			return fn(c, a)
		},
	}
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
		run: func(_ string, c *Context, args []byte) (any, error) {
			var e Event
			if len(args) == 0 || args[0]>>5 != 5 { // CBOR major type 5: map
				return nil, builtinError("TypeError", "notification is not a CBOR map of publisher_id, event_type, payload, metadata")
			}
			if err := cborcodec.Unmarshal(args, &e); err != nil {
				return nil, builtinError("TypeError", fmt.Sprintf("notification is not a CBOR map of publisher_id, event_type, payload, metadata: %v", cleanCBORError(err)))
			}
			ack, err := fn(c, e)
			if err != nil {
				return nil, err
			}
			if ack == "" {
				ack = Handled
			}
			return string(ack), nil
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

// qualname is the function name Python's messages start with: "echo", or
// "TestkitEndpoint.echo" when the endpoint names its class.
func (h *Handler) qualname() string {
	if h.class == "" {
		return h.name
	}
	return h.class + "." + h.name
}

// Handle serves one call on the host, as the wasm export does: ctx and
// args are the CBOR request context and keyword arguments, the result the
// CBOR abi.Result. It lets a module's handlers be unit-tested without a
// wasm runtime.
func (h *Handler) Handle(ctx, args []byte) []byte {
	var w resultWriter
	return h.serve(&w, ctx, args)
}

// serve runs the handler and encodes its Result with w. A panic in the
// handler becomes an error result: its value when it is an error holding
// an *Error, a RuntimeError "panic: …" otherwise, logged with its stack.
func (h *Handler) serve(w *resultWriter, ctx, args []byte) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = w.error(toABI(panicError(h.qualname(), r)))
		}
	}()
	c, err := newContext(h.name, ctx)
	if err != nil {
		return w.error(toABI(err))
	}
	v, err := h.run(h.qualname(), c, args)
	if err != nil {
		return w.error(toABI(err))
	}
	return w.value(v)
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
