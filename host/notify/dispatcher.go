package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
)

// Endpoint is a set of notification handlers, one per priority, with an
// optional filter: an oslo.messaging notification endpoint object, whose
// methods are named by priority and whose filter_rule screens what they
// get.
type Endpoint struct {
	// Handlers maps each priority the endpoint handles to its handler.
	Handlers map[Priority]Handler
	// Filter, when set, screens the notifications the handlers get.
	Filter *Filter
}

// BatchEndpoint is an [Endpoint] of a batch listener: its handlers get
// the notifications of a batch together.
type BatchEndpoint struct {
	Handlers map[Priority]BatchHandler
	Filter   *Filter
}

// callback is one handler of a priority with its endpoint's filter.
type callback[H any] struct {
	filter  *Filter
	handler H
}

// routes maps each priority to its callbacks, in endpoint order.
type routes[H any] map[Priority][]callback[H]

// endpoint is what routes need of an [Endpoint] or a [BatchEndpoint].
type endpoint[H any] struct {
	handlers map[Priority]H
	filter   *Filter
}

// newRoutes checks the handlers of endpoints and groups them by priority.
func newRoutes[H comparable](eps []endpoint[H]) (routes[H], error) {
	r := make(routes[H])
	var zero H
	for i, ep := range eps {
		for p, h := range ep.handlers {
			if !p.Valid() {
				return nil, fmt.Errorf("notify: endpoint %d: unknown priority %q", i, p)
			}
			if h == zero {
				return nil, fmt.Errorf("notify: endpoint %d: nil handler for %q", i, p)
			}
		}
	}
	// Priorities in oslo's order, endpoints in theirs.
	for _, p := range Priorities() {
		for _, ep := range eps {
			if h, ok := ep.handlers[p]; ok {
				r[p] = append(r[p], callback[H]{ep.filter, h})
			}
		}
	}
	if len(r) == 0 {
		return nil, errors.New("notify: the endpoints handle no priority")
	}
	return r, nil
}

func (r routes[H]) priorities() []Priority {
	var ps []Priority
	for _, p := range Priorities() {
		if len(r[p]) > 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

// Dispatcher routes each notification to the handlers of its priority, by
// the rules of oslo's NotificationDispatcher: the handlers of the
// endpoints, in their order, whose filter matches the notification, each
// in turn until one asks to requeue it. A handler's error or panic
// requeues it too. A notification of an unknown priority, or of a
// priority no endpoint handles, is handled (acknowledged) without a call.
//
// The endpoints can be replaced while notifications are dispatched
// ([Dispatcher.SetEndpoints]); each notification sees one set.
type Dispatcher struct {
	routes atomic.Pointer[routes[Handler]]
}

// NewDispatcher returns a dispatcher over endpoints. It fails when no
// endpoint handles a priority, or one names an unknown priority or a nil
// handler.
func NewDispatcher(endpoints ...Endpoint) (*Dispatcher, error) {
	d := new(Dispatcher)
	if err := d.SetEndpoints(endpoints...); err != nil {
		return nil, err
	}
	return d, nil
}

// SetEndpoints replaces the endpoints, or fails and keeps the old ones. A
// running listener keeps consuming the queues of the priorities it
// started with.
func (d *Dispatcher) SetEndpoints(endpoints ...Endpoint) error {
	eps := make([]endpoint[Handler], len(endpoints))
	for i, ep := range endpoints {
		eps[i] = endpoint[Handler]{ep.Handlers, ep.Filter}
	}
	r, err := newRoutes(eps)
	if err != nil {
		return err
	}
	d.routes.Store(&r)
	return nil
}

// Priorities returns the priorities some endpoint handles, in oslo's
// order: a listener consumes topic.priority for each.
func (d *Dispatcher) Priorities() []Priority { return d.routes.Load().priorities() }

// Dispatch runs the handlers of m.Priority and returns [Requeue] when one
// asked for it or failed (with the failure), else [Handled].
func (d *Dispatcher) Dispatch(ctx context.Context, m *Message) (Result, error) {
	for _, cb := range (*d.routes.Load())[m.Priority] {
		if !cb.filter.Match(m) {
			continue
		}
		res, err := callHandler(ctx, cb.handler, m)
		if err != nil {
			return Requeue, err
		}
		if res == Requeue {
			return Requeue, nil
		}
	}
	return Handled, nil
}

// callHandler runs h, turning a panic into an error.
func callHandler(ctx context.Context, h Handler, m *Message) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Requeue, fmt.Errorf("notify: handler for %s panicked: %v", m.Priority, p)
		}
	}()
	return h.HandleNotification(ctx, m)
}

// BatchDispatcher routes batches of notifications by the rules of oslo's
// BatchNotificationDispatcher: the batch is split by priority; for each
// priority the handlers of the endpoints, in their order, get the
// notifications their filter matches (a handler with none is not called),
// until one asks to requeue or fails, which requeues every notification
// of that priority in the batch.
type BatchDispatcher struct {
	routes atomic.Pointer[routes[BatchHandler]]
}

// NewBatchDispatcher returns a batch dispatcher over endpoints, checked as
// [NewDispatcher] checks its endpoints.
func NewBatchDispatcher(endpoints ...BatchEndpoint) (*BatchDispatcher, error) {
	d := new(BatchDispatcher)
	if err := d.SetEndpoints(endpoints...); err != nil {
		return nil, err
	}
	return d, nil
}

// SetEndpoints replaces the endpoints, or fails and keeps the old ones.
func (d *BatchDispatcher) SetEndpoints(endpoints ...BatchEndpoint) error {
	eps := make([]endpoint[BatchHandler], len(endpoints))
	for i, ep := range endpoints {
		eps[i] = endpoint[BatchHandler]{ep.Handlers, ep.Filter}
	}
	r, err := newRoutes(eps)
	if err != nil {
		return err
	}
	d.routes.Store(&r)
	return nil
}

// Priorities returns the priorities some endpoint handles, in oslo's
// order.
func (d *BatchDispatcher) Priorities() []Priority { return d.routes.Load().priorities() }

// Dispatch runs the handlers over ms and returns, for each message of
// ms, whether to requeue it, with the handlers' failures joined.
func (d *BatchDispatcher) Dispatch(ctx context.Context, ms []*Message) (requeue []bool, err error) {
	requeue = make([]bool, len(ms))
	routes := *d.routes.Load()
	// oslo sorts the batch by priority (stably) and walks the groups.
	order := make([]int, len(ms))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ms[order[a]].Priority < ms[order[b]].Priority })
	var errs []error
	for start := 0; start < len(order); {
		p := ms[order[start]].Priority
		end := start
		for end < len(order) && ms[order[end]].Priority == p {
			end++
		}
		group := order[start:end]
		start = end
		for _, cb := range routes[p] {
			var sel []*Message
			for _, i := range group {
				if cb.filter.Match(ms[i]) {
					sel = append(sel, ms[i])
				}
			}
			if len(sel) == 0 {
				continue
			}
			res, err := callBatchHandler(ctx, cb.handler, p, sel)
			if err != nil {
				errs = append(errs, err)
			}
			if err != nil || res == Requeue {
				for _, i := range group {
					requeue[i] = true
				}
				break
			}
		}
	}
	return requeue, errors.Join(errs...)
}

func callBatchHandler(ctx context.Context, h BatchHandler, p Priority, ms []*Message) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = Requeue, fmt.Errorf("notify: batch handler for %s panicked: %v", p, r)
		}
	}()
	return h.HandleNotifications(ctx, ms)
}
