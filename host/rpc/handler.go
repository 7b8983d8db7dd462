package rpc

import (
	"context"
	"time"
)

// Request is one RPC call or cast as a [Handler] sees it: the decoded
// oslo.messaging message, with values as CBOR (see docs/VALUES.md).
type Request struct {
	// Context is the CBOR map of the caller's request context (oslo's
	// `_context_*` keys, without the prefix).
	Context []byte
	// Method is the method name.
	Method string
	// Args is the CBOR map of the keyword arguments.
	Args []byte
	// Namespace is the target namespace the caller asked for; "" for none.
	Namespace string
	// Version is the target version the caller asked for; "" means "1.0".
	Version string
	// Deadline is when the caller stops waiting (from the message's
	// expiration); zero when it did not say.
	Deadline time.Time
	// Hops is how many requests this one descends from, as a wasmrpcd
	// guest's calls count them (oslo.Request.Hops); 0 from anyone else.
	Hops int
}

// Handler serves the methods of an [Endpoint]. The dispatcher calls it
// only for a method the endpoint declares and the access policy allows. It
// returns the CBOR of the result (nil for null).
//
// An error of type [*abi.Error] or [*oslo.Failure] reaches the caller as a
// remote exception of that class; any other error as described by
// [FailureOf].
type Handler interface {
	ServeRPC(ctx context.Context, req *Request) ([]byte, error)
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, req *Request) ([]byte, error)

// ServeRPC calls f(ctx, req).
func (f HandlerFunc) ServeRPC(ctx context.Context, req *Request) ([]byte, error) { return f(ctx, req) }

var _ Handler = HandlerFunc(nil)
