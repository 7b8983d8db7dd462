package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// Client calls and casts to oslo.messaging RPC servers, Python ones and
// wasmrpcd alike, as oslo_messaging.RPCClient does, with the same
// messages on the wire.
//
// A client made by [NewClient] owns one reply queue, declared on its first
// call, on which all its calls and those of the clients [Client.Prepare]
// derives from it wait at once, as oslo's driver does for a process. Its
// methods are safe for concurrent use. Close it when done; the transport
// stays the caller's.
//
//	c := rpc.NewClient(t, rpc.Target{Topic: "testkit", Version: "1.5"})
//	defer c.Close()
//	res, err := c.Call(ctx, "add", map[string]any{"a": 1, "b": 2})
//	var sum int64
//	err = res.Decode(&sum)
type Client struct {
	t       transport.Transport
	replies *replies
	s       settings
}

// NewClient returns a client sending to target through t, with opts
// applied (oslo's RPCClient keyword arguments: timeout, version cap,
// retry, call monitor timeout).
func NewClient(t transport.Transport, target Target, opts ...Option) *Client {
	s := settings{target: target, retry: RetryForever}
	for _, o := range opts {
		o(&s)
	}
	log := s.logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{t: t, replies: newReplies(t, log), s: s}
}

// Prepare returns a client that shares c's transport and reply queue,
// with c's target and settings overridden by opts, as oslo's prepare()
// does. Closing either closes both.
//
//	c.Prepare(rpc.WithServer("host-a"), rpc.WithVersion("1.6"), rpc.WithTimeout(5*time.Second)).Call(ctx, "echo", args)
func (c *Client) Prepare(opts ...Option) *Client {
	s := c.s
	for _, o := range opts {
		o(&s)
	}
	return &Client{t: c.t, replies: c.replies, s: s}
}

// Target returns the client's target.
func (c *Client) Target() Target { return c.s.target }

// ReplyQueue returns the name of the reply queue, "" before the first
// call declared it.
func (c *Client) ReplyQueue() string { return c.replies.name() }

// Close stops listening for replies; the calls still waiting fail with
// [ErrClientClosed], and so do later calls and casts. The reply queue
// stays on the broker until it expires (rabbit_transient_queues_ttl), as
// oslo's does. Close is idempotent.
func (c *Client) Close() error { return c.replies.close() }

// CanSendVersion reports whether the client's version cap allows
// requests for version ("" for none), oslo's can_send_version(version);
// c.CanSendVersion(c.Target().Version) is can_send_version(). Without a
// cap every version is allowed; with one, no version is not.
func (c *Client) CanSendVersion(version string) bool {
	return checkVersionCap(c.s.versionCap, version) == nil
}

// Result is what a call returned, as CBOR (docs/VALUES.md maps JSON and
// CBOR); None is the one byte 0xf6.
type Result []byte

// Decode decodes the result into v with the ABI's CBOR rules (into an
// any: map[string]any, []any, int64 or *big.Int, float64, string, bool,
// nil).
func (r Result) Decode(v any) error { return cborcodec.Unmarshal(r, v) }

// JSON returns the result as the JSON a Python caller's json.dumps would
// write.
func (r Result) JSON() ([]byte, error) { return oslo.CBORToJSON(nil, r) }

// requestContextKey carries the request context in a context.Context.
type requestContextKey struct{}

// WithRequestContext returns a copy of ctx whose calls and casts send
// values as their request context (oslo's ctxt, packed as `_context_*`
// keys): a map with string keys, a struct (CBOR field tags apply), or an
// abi.RawMessage or cbor.RawMessage of a map.
func WithRequestContext(ctx context.Context, values any) context.Context {
	return context.WithValue(ctx, requestContextKey{}, values)
}

// Call invokes method with args (a map with string keys, a struct, an
// abi.RawMessage or cbor.RawMessage of a map, or nil for none) on one
// server of the target and waits for its result.
//
// It fails with a [*RemoteError] when the method raised, an error
// matching [ErrTimeout] when no reply came in time, a [*VersionCapError]
// when the cap refuses the version, [ErrInvalidTarget] for a fanout
// target, and ctx's error when ctx is cancelled.
func (c *Client) Call(ctx context.Context, method string, args any) (Result, error) {
	s := &c.s
	if s.target.Fanout {
		return nil, fmt.Errorf("%w: a call cannot be used with fanout", ErrInvalidTarget)
	}
	req, err := c.request(ctx, method, args)
	if err != nil {
		return nil, err
	}
	timeout := s.timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	ctxDeadline := false // the context's deadline comes first
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	if req.ReplyQ, err = c.replies.start(ctx); err != nil {
		return nil, err
	}
	req.MsgID = oslo.NewID()
	req.CallMonitorTimeout = s.callMonitorTimeout
	body, err := oslo.EncodeRequest(nil, req)
	if err != nil {
		return nil, fmt.Errorf("rpc: call %s: %w", method, err)
	}
	w, err := c.replies.add(req.MsgID)
	if err != nil {
		return nil, err
	}
	defer c.replies.remove(req.MsgID)

	sendCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The broker drops the request once the caller stops waiting.
	ttl := max(time.Until(deadline), time.Millisecond)
	if err := c.send(sendCtx, body, transport.SendOptions{Expiration: ttl}); err != nil {
		if errors.Is(sendCtx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w to message ID %s: the request could not be sent in time: %w", ErrTimeout, req.MsgID, err)
		}
		return nil, err
	}
	res, err := c.wait(ctx, w, req.MsgID, deadline)
	if errors.Is(err, errDeadline) {
		if ctxDeadline {
			// Reported as the context's, whichever timer fired first.
			err = fmt.Errorf("%w to message ID %s: %w", ErrTimeout, req.MsgID, context.DeadlineExceeded)
		} else {
			err = fmt.Errorf("%w to message ID %s (timeout %v)", ErrTimeout, req.MsgID, timeout)
		}
	}
	return res, err
}

// wait waits for the final reply of a call, renewing the call monitor
// timer on each heartbeat, as oslo's ReplyWaiter.wait does.
func (c *Client) wait(ctx context.Context, w *waiter, msgID string, deadline time.Time) (Result, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var monitor *time.Timer
	var monitorC <-chan time.Time // nil, never ready, without a call monitor
	cm := c.s.callMonitorTimeout
	if cm > 0 {
		monitor = time.NewTimer(cm)
		defer monitor.Stop()
		monitorC = monitor.C
	}
	for {
		select {
		case <-w.done:
			return w.outcome()
		case <-w.beat:
			if monitor != nil {
				monitor.Reset(cm)
			}
		case <-monitorC:
			return nil, fmt.Errorf("%w to message ID %s: no heartbeat within the call monitor timeout %v", ErrTimeout, msgID, cm)
		case <-timer.C:
			return nil, errDeadline
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, errDeadline
			}
			return nil, fmt.Errorf("rpc: call %s: %w", msgID, ctx.Err())
		}
	}
}

// errDeadline is a call's deadline passing, before it becomes an
// ErrTimeout that says which.
var errDeadline = errors.New("deadline")

// outcome is the call's result once done is closed.
func (w *waiter) outcome() (Result, error) {
	switch {
	case w.err != nil:
		return nil, w.err
	case w.failure != nil:
		return nil, remoteError(w.failure)
	case len(w.result) == 0:
		return Result{0xf6}, nil
	default:
		return Result(w.result), nil
	}
}

// Cast invokes method with args (as [Client.Call] takes them) without
// waiting: on one server of the target, or on all of them for a fanout
// target. It returns once the broker has the request.
func (c *Client) Cast(ctx context.Context, method string, args any) error {
	if err := c.replies.closedErr(); err != nil {
		return err
	}
	req, err := c.request(ctx, method, args)
	if err != nil {
		return err
	}
	body, err := oslo.EncodeRequest(nil, req)
	if err != nil {
		return fmt.Errorf("rpc: cast %s: %w", method, err)
	}
	return c.send(ctx, body, transport.SendOptions{})
}

// request checks what oslo's client checks before sending and builds the
// request without its call fields.
func (c *Client) request(ctx context.Context, method string, args any) (*oslo.Request, error) {
	s := &c.s
	switch {
	case s.err != nil:
		return nil, s.err
	case s.target.Topic == "":
		return nil, fmt.Errorf("%w: a target needs a topic", ErrInvalidTarget)
	case method == "":
		return nil, fmt.Errorf("%w: no method", ErrInvalidTarget)
	}
	if err := checkVersionCap(s.versionCap, s.target.Version); err != nil {
		return nil, err
	}
	a, err := encodeMap(args)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s: arguments: %w", method, err)
	}
	var rc []byte
	if v := ctx.Value(requestContextKey{}); v != nil {
		if rc, err = encodeMap(v); err != nil {
			return nil, fmt.Errorf("rpc: %s: request context: %w", method, err)
		}
	}
	return &oslo.Request{
		Method:    method,
		Namespace: s.target.Namespace,
		Version:   s.target.Version,
		Args:      a,
		Context:   rc,
		UniqueID:  oslo.NewID(),
		Hops:      s.hops,
	}, nil
}

// encodeMap encodes v as a CBOR map; nil (or a nil map) is none.
func encodeMap(v any) ([]byte, error) {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil, nil
	case cbor.RawMessage:
		b = x
	case abi.RawMessage:
		b = x
	default:
		var err error
		if b, err = cborcodec.Marshal(v); err != nil {
			return nil, err
		}
	}
	if isNull(b) {
		return nil, nil
	}
	if b[0]&0xe0 != 0xa0 {
		return nil, fmt.Errorf("%T is not a map", v)
	}
	return b, nil
}

// checkVersionCap is oslo's _check_version_cap: version_is_compatible(cap,
// version).
func checkVersionCap(versionCap, version string) error {
	if versionCap == "" {
		return nil
	}
	capVersion, err := abi.ParseVersion(versionCap)
	if err != nil {
		return fmt.Errorf("rpc: version cap: %w", err)
	}
	if version == "" {
		return &VersionCapError{VersionCap: versionCap}
	}
	ok, err := versionServes(capVersion, version)
	if err != nil {
		return fmt.Errorf("rpc: version %q: %w", version, err)
	}
	if !ok {
		return &VersionCapError{Version: version, VersionCap: versionCap}
	}
	return nil
}

// transportTarget is where the transport sends the request.
func (t Target) transportTarget() transport.Target {
	return transport.Target{Exchange: t.Exchange, Topic: t.Topic, Server: t.Server, Fanout: t.Fanout}
}

// String describes the target as oslo's Target does.
func (t Target) String() string {
	s := "<Target"
	add := func(k, v string) {
		if v != "" {
			s += " " + k + "=" + v
		}
	}
	add("exchange", t.Exchange)
	add("topic", t.Topic)
	add("namespace", t.Namespace)
	add("version", t.Version)
	add("server", t.Server)
	if t.Fanout {
		s += " fanout=True"
	}
	return s + ">"
}
