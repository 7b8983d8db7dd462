package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// hostCalls serves the guests' calls to the outside (wasmrpc.call, cast,
// notify): RPC through one client of the daemon (one reply queue for all
// modules, as an oslo process has), notifications through a notifier per
// topic. Each request is checked against the calling module's tenant:
// its rpc_targets and notification_topics; anything else is refused with
// a PermissionError the guest sees.
type hostCalls struct {
	d *Daemon

	mu        sync.Mutex // guards the fields below
	client    *rpc.Client
	notifiers map[string]*notify.Notifier // topic → notifier
}

var _ wasm.HostCalls = (*hostCalls)(nil)

// errNotConnected answers host calls made before the broker is (a module's
// _initialize runs before the daemon connects).
var errNotConnected = &abi.Error{Class: "RuntimeError", Module: "builtins",
	Message: "wasmrpcd is not connected to the broker yet: host calls are not available during module initialisation"}

func (h *hostCalls) Call(ctx context.Context, from wasm.Caller, req *abi.CallRequest) ([]byte, error) {
	c, err := h.prepare(ctx, from, req)
	if err != nil {
		return nil, err
	}
	res, err := c.Call(rpc.WithRequestContext(ctx, req.Context), req.Method, req.Args)
	if err != nil {
		return nil, remoteFailure(err)
	}
	return res, nil
}

func (h *hostCalls) Cast(ctx context.Context, from wasm.Caller, req *abi.CallRequest) error {
	c, err := h.prepare(ctx, from, req)
	if err != nil {
		return err
	}
	if err := c.Cast(rpc.WithRequestContext(ctx, req.Context), req.Method, req.Args); err != nil {
		return remoteFailure(err)
	}
	return nil
}

// prepare checks a call or cast against the caller's tenant and returns the
// client for its target.
func (h *hostCalls) prepare(ctx context.Context, from wasm.Caller, req *abi.CallRequest) (*rpc.Client, error) {
	tenant, err := h.tenantOf(from)
	if err != nil {
		return nil, err
	}
	t := req.Target
	exchange := t.Exchange
	if exchange == "" {
		exchange = h.d.config().ControlExchange
	}
	if err := checkTarget(tenant, exchange, req); err != nil {
		return nil, err
	}
	hop, err := nextHop(ctx, tenant)
	if err != nil {
		return nil, err
	}
	client, err := h.rpcClient()
	if err != nil {
		return nil, err
	}
	opts := []rpc.Option{
		rpc.WithExchange(exchange), rpc.WithTopic(t.Topic), rpc.WithServer(t.Server),
		rpc.WithFanout(t.Fanout), rpc.WithNamespace(t.Namespace), rpc.WithVersion(t.Version),
		rpc.WithHops(hop),
	}
	// A call cannot outlive its caller: its timeout (and its request's
	// time to live on the broker) is what is left of the deadline of the
	// guest's own call, itself within the time to live of the request it
	// serves.
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, rpc.WithTimeout(time.Until(deadline)))
	}
	return client.Prepare(opts...), nil
}

func (h *hostCalls) Notify(ctx context.Context, from wasm.Caller, n *abi.Notification) error {
	tenant, err := h.tenantOf(from)
	if err != nil {
		return err
	}
	topic := n.Topic
	if topic == "" {
		topic = notify.DefaultTopic
	}
	if !tenant.AllowsNotification(topic) {
		return &abi.Error{Class: "PermissionError", Module: "builtins",
			Message: fmt.Sprintf("tenant %s may not emit notifications to topic %s; its notification_topics allow it", tenant.Name, topic)}
	}
	priority, err := notify.ParsePriority(n.Priority)
	if err != nil {
		return &abi.Error{Class: "ValueError", Module: "builtins", Message: err.Error()}
	}
	if n.EventType == "" || n.PublisherID == "" {
		return &abi.Error{Class: "ValueError", Module: "builtins", Message: "a notification needs an event_type and a publisher_id"}
	}
	hop, err := nextNotifyHop(ctx, tenant)
	if err != nil {
		return err
	}
	notifier, err := h.notifier(topic)
	if err != nil {
		return err
	}
	payload := []byte(n.Payload)
	if len(payload) == 0 {
		payload = []byte{0xf6}
	}
	return notifier.Prepare(n.PublisherID).WithHops(hop).Notify(ctx, priority, n.Context, n.EventType, payload)
}

// tenantOf returns the tenant of the calling module.
func (h *hostCalls) tenantOf(from wasm.Caller) (*config.Tenant, error) {
	m := h.d.module(from.Module)
	if m == nil {
		return nil, &abi.Error{Class: "RuntimeError", Module: "builtins", Message: "unknown module " + from.Module}
	}
	m.mu.Lock()
	t := m.tenant
	m.mu.Unlock()
	return t, nil
}

func (h *hostCalls) rpcClient() (*rpc.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client == nil {
		tr := h.d.currentTransport()
		if tr == nil {
			return nil, errNotConnected
		}
		h.client = rpc.NewClient(tr, rpc.Target{Topic: "-"}, rpc.WithLogger(h.d.log))
	}
	return h.client, nil
}

func (h *hostCalls) notifier(topic string) (*notify.Notifier, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.notifiers[topic]; n != nil {
		return n, nil
	}
	tr := h.d.currentTransport()
	if tr == nil {
		return nil, errNotConnected
	}
	n, err := notify.NewNotifier(tr, "wasmrpcd", notify.NotifierOptions{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if h.notifiers == nil {
		h.notifiers = map[string]*notify.Notifier{}
	}
	h.notifiers[topic] = n
	return n, nil
}

// close releases the RPC client's reply queue.
func (h *hostCalls) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client != nil {
		h.client.Close()
		h.client = nil
	}
}

// remoteFailure turns the error of a host RPC call into the exception the
// guest sees: the remote exception as the server sent it, MessagingTimeout
// when no reply came in time.
func remoteFailure(err error) error {
	var remote *rpc.RemoteError
	switch {
	case errors.As(err, &remote):
		return &abi.Error{Class: remote.Class, Module: remote.Module, Message: remote.Message, Args: remote.Args, Kwargs: remote.Kwargs}
	case errors.Is(err, rpc.ErrTimeout):
		return &abi.Error{Class: "MessagingTimeout", Module: "oslo_messaging.exceptions", Message: err.Error()}
	default:
		return err
	}
}
