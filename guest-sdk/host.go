package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Target addresses an RPC server as oslo.messaging's Target does: topic,
// and optionally exchange, server, namespace, version and fanout.
type Target = abi.Target

// Notification is a notification a module emits with [Notify].
type Notification struct {
	// Topic is the notification topic; empty means the host's default.
	Topic string
	// Priority is one of abi.Priorities: "info", "error", …
	Priority    string
	PublisherID string
	EventType   string
	// Payload is any value CBOR encodes.
	Payload any
}

// ErrNoHost is returned by [Call], [Cast] and [Notify] outside a wasm
// module, where there is no host to ask.
var ErrNoHost = errors.New("sdk: no wasmrpcd host: not running as a wasm module")

// CallOption adjusts a [Call] or [Cast].
type CallOption func(*abi.CallRequest)

// Timeout bounds a call; the host also bounds it by the deadline of the
// call being served.
func Timeout(d time.Duration) CallOption {
	return func(r *abi.CallRequest) {
		ms := d.Milliseconds()
		if ms < 1 {
			ms = 1
		}
		if ms > int64(^uint32(0)) {
			ms = int64(^uint32(0))
		}
		r.TimeoutMillis = uint32(ms)
	}
}

// Call calls method on the RPC server t with keyword arguments args (a
// struct or map encoding to a CBOR map; nil for none) and decodes its
// result into an R. The context sent is the current request's, or c's own
// values when c comes from [Context.WithValue].
//
// An exception the remote method raised (or the host's refusal, or a
// timeout) comes back as an *[Error] of the remote class; returning it
// from a handler raises it again to this module's caller.
//
//	vol, err := sdk.Call[Volume](c, sdk.Target{Topic: "volumes", Version: "1.0"},
//		"get_volume", map[string]any{"volume_id": id})
func Call[R any](c *Context, t Target, method string, args any, opts ...CallOption) (R, error) {
	var out R
	req, err := callRequest(c, t, method, args, opts)
	if err != nil {
		return out, err
	}
	resp, err := exchangeCall(req)
	if err != nil {
		return out, fmt.Errorf("sdk: call %s: %w", method, err)
	}
	value, err := decodeResponse(resp)
	if err != nil {
		return out, err
	}
	if len(value) > 0 {
		if err := cbor.Unmarshal(value, &out); err != nil {
			return out, fmt.Errorf("sdk: call %s: decoding the result into %T: %w", method, out, err)
		}
	}
	return out, nil
}

// Cast sends method with args to t without waiting for a result, as
// oslo.messaging's cast does. The error is the host's refusal, if any.
func Cast(c *Context, t Target, method string, args any, opts ...CallOption) error {
	req, err := callRequest(c, t, method, args, opts)
	if err != nil {
		return err
	}
	resp, err := exchangeCast(req)
	if err != nil {
		return fmt.Errorf("sdk: cast %s: %w", method, err)
	}
	_, err = decodeResponse(resp)
	return err
}

// Notify emits a notification on the control exchange. The context sent
// is the current request's, or c's own values when c comes from
// [Context.WithValue].
func Notify(c *Context, n Notification) error {
	req, err := notifyRequest(c, n)
	if err != nil {
		return err
	}
	resp, err := exchangeNotify(req)
	if err != nil {
		return fmt.Errorf("sdk: notify %s: %w", n.EventType, err)
	}
	_, err = decodeResponse(resp)
	return err
}

// hostImport names the host import an exchange goes through.
type hostImport int

const (
	importCall hostImport = iota
	importCast
	importNotify
)

func (i hostImport) String() string {
	return [...]string{abi.ImportCall, abi.ImportCast, abi.ImportNotify}[i]
}

// callRequest encodes the CBOR abi.CallRequest for Call and Cast.
func callRequest(c *Context, t Target, method string, args any, opts []CallOption) ([]byte, error) {
	r := abi.CallRequest{Target: t, Method: method}
	if method == "" || t.Topic == "" {
		return nil, fmt.Errorf("sdk: a call needs a method and a target topic")
	}
	if args != nil {
		a, err := cbor.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("sdk: encoding the arguments of %s: %w", method, err)
		}
		if a[0]>>5 != 5 && a[0] != 0xf6 { // a CBOR map, or null
			return nil, fmt.Errorf("sdk: the arguments of %s must encode to a map, not %T", method, args)
		}
		if a[0] != 0xf6 {
			r.Args = a
		}
	}
	if err := overrideContext(c, &r.Context); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(&r)
	}
	return cbor.Marshal(r)
}

// notifyRequest encodes the CBOR abi.Notification for Notify.
func notifyRequest(c *Context, n Notification) ([]byte, error) {
	if !abi.IsPriority(n.Priority) {
		return nil, fmt.Errorf("sdk: notification priority %q is not one of %v", n.Priority, abi.Priorities)
	}
	r := abi.Notification{Topic: n.Topic, Priority: n.Priority, PublisherID: n.PublisherID, EventType: n.EventType}
	p, err := cbor.Marshal(n.Payload)
	if err != nil {
		return nil, fmt.Errorf("sdk: encoding the payload of %s: %w", n.EventType, err)
	}
	r.Payload = p
	if err := overrideContext(c, &r.Context); err != nil {
		return nil, err
	}
	return cbor.Marshal(r)
}

// overrideContext sets dst to c's values when c carries its own.
func overrideContext(c *Context, dst *abi.RawMessage) error {
	if c == nil || !c.override {
		return nil
	}
	b, err := cbor.Marshal(c.Values())
	if err != nil {
		return fmt.Errorf("sdk: encoding the context: %w", err)
	}
	*dst = b
	return nil
}

// decodeResponse decodes the CBOR abi.Result the host answered with: the
// raw value on success, an *Error when the remote side (or the host)
// raised one.
func decodeResponse(resp []byte) (abi.RawMessage, error) {
	var r abi.Result
	if err := cbor.Unmarshal(resp, &r); err != nil {
		return nil, fmt.Errorf("sdk: the host's response is not a CBOR result: %w", err)
	}
	if r.Error != nil {
		return nil, fromABI(r.Error)
	}
	return r.Value, nil
}

// errnoError words a negative answer of a host import.
func errnoError(imp hostImport, n int32) error {
	switch -n {
	case abi.ErrnoBadRequest:
		return fmt.Errorf("host import %s: the request is out of range or not valid CBOR (errno %d)", imp, -n)
	case abi.ErrnoNoResponse:
		return fmt.Errorf("host import %s: no response held (errno %d)", imp, -n)
	case abi.ErrnoTooSmall:
		return fmt.Errorf("host import %s: response buffer too small (errno %d)", imp, -n)
	}
	return fmt.Errorf("host import %s: errno %d", imp, -n)
}
