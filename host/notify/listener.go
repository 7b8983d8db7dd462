package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// ErrListenerClosed is returned by [Listener.Start] after
// [Listener.Shutdown].
var ErrListenerClosed = errors.New("notify: listener closed")

// Target is an exchange and topic a listener consumes, as an
// oslo_messaging.Target of a notification listener.
type Target struct {
	// Exchange is the topic exchange; "" means the transport's control
	// exchange.
	Exchange string
	// Topic is the notification topic, such as "notifications".
	Topic string
}

// Slots bound the notifications handled at once across listeners (and
// RPC servers: *rpc.Slots is one).
type Slots interface {
	// Acquire takes a slot, waiting until one is free or ctx ends.
	Acquire(ctx context.Context) error
	// Release returns a slot.
	Release()
}

// ListenerOptions tune a [Listener]. The zero value is usable.
type ListenerOptions struct {
	// Pool is the listener pool: listeners of one pool share one queue
	// per topic and priority, named after the pool, so each notification
	// reaches one listener of each pool, and one of those without a pool.
	// "" means no pool.
	Pool string
	// Executors is how many notifications (or batches) are handled at
	// once (oslo's executor_thread_pool_size); 0 means 64.
	Executors int
	// NoRequeue acknowledges a notification even when its handler asks to
	// requeue it or fails (oslo's allow_requeue=False, the default of
	// get_notification_listener). By default such a notification goes
	// back to its queue, as with allow_requeue=True.
	NoRequeue bool
	// BatchSize is how many notifications a batch listener hands over at
	// once at most; 0 means 1. The transport's prefetch count, when set
	// and smaller, caps it, as in oslo.
	BatchSize int
	// BatchTimeout is how long a batch listener waits, from a batch's
	// first notification, for the batch to fill; 0 means until it is full.
	BatchTimeout time.Duration
	// Slots, when set, bounds the notifications handled at once across
	// every listener and server sharing it; each listener still runs at
	// most Executors.
	Slots Slots
	// Logger receives the listener's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Listener is an oslo.messaging notification listener: it consumes
// topic.priority for each of its targets and each priority its
// dispatcher handles, and hands each notification (or batch) to the
// dispatcher. A notification is acknowledged after its handlers return,
// or requeued when one asked for it or failed; one that cannot be read is
// rejected (dropped), and one whose `_unique_id` the listener
// acknowledged recently is acknowledged again without a call.
type Listener struct {
	transport transport.Transport
	targets   []Target
	opts      ListenerOptions
	log       *slog.Logger

	priorities func() []Priority
	dispatch   func(ctx context.Context, ms []*Message) ([]bool, error)
	batch      bool

	mu       sync.Mutex // guards listener, started, closed
	listener transport.Listener
	started  bool
	closed   bool

	stopTaking context.CancelFunc // stops the poller taking messages
	abort      context.CancelFunc // cancels the handlers running
	poller     sync.WaitGroup
	workers    sync.WaitGroup

	recent   recentIDs
	inFlight atomic.Int64
	failed   atomic.Bool // the transport listener failed: nothing is taken any more
}

// NewListener returns a listener on targets that hands each notification
// to d. Start starts it.
func NewListener(t transport.Transport, targets []Target, d *Dispatcher, opts ListenerOptions) *Listener {
	l := newListener(t, targets, opts)
	l.priorities = d.Priorities
	l.dispatch = func(ctx context.Context, ms []*Message) ([]bool, error) {
		res, err := d.Dispatch(ctx, ms[0])
		return []bool{res == Requeue}, err
	}
	l.opts.BatchSize, l.opts.BatchTimeout = 1, 0
	return l
}

// NewBatchListener returns a listener on targets that hands notifications
// to d in batches of up to opts.BatchSize, waiting at most
// opts.BatchTimeout for a batch to fill, as oslo's batch notification
// listener does.
func NewBatchListener(t transport.Transport, targets []Target, d *BatchDispatcher, opts ListenerOptions) *Listener {
	l := newListener(t, targets, opts)
	l.priorities = d.Priorities
	l.dispatch = d.Dispatch
	l.batch = true
	if l.opts.BatchSize <= 0 {
		l.opts.BatchSize = 1
	}
	// oslo's batch_poll_helper caps a batch at the prefetch count: a
	// larger batch could never fill.
	if o, ok := t.(interface{ Options() transport.Options }); ok {
		if p := o.Options().PrefetchCount; p > 0 && p < l.opts.BatchSize {
			l.opts.BatchSize = p
		}
	}
	return l
}

func newListener(t transport.Transport, targets []Target, opts ListenerOptions) *Listener {
	if opts.Executors <= 0 {
		opts.Executors = 64
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	topics := make([]string, len(targets))
	for i, tg := range targets {
		topics[i] = tg.Topic
	}
	return &Listener{
		transport: t,
		targets:   append([]Target(nil), targets...),
		opts:      opts,
		log:       log.With("topics", topics, "pool", opts.Pool),
	}
}

// Start declares the listener's queues, starts consuming and returns. It
// fails when there is no target, when the queues cannot be declared, when
// called twice, and with [ErrListenerClosed] after Shutdown.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrListenerClosed
	case l.started:
		return errors.New("notify: listener already started")
	case len(l.targets) == 0:
		return errors.New("notify: listener has no target")
	}
	var nts []transport.NotifyTarget
	for _, tg := range l.targets {
		if tg.Topic == "" {
			return errors.New("notify: listener target has no topic")
		}
		for _, p := range l.priorities() {
			nts = append(nts, transport.NotifyTarget{Exchange: tg.Exchange, Topic: tg.Topic, Priority: string(p)})
		}
	}
	tl, err := l.transport.ListenNotifications(ctx, nts, l.opts.Pool)
	if err != nil {
		return fmt.Errorf("notify: listen: %w", err)
	}
	l.listener = tl
	l.started = true
	takeCtx, stopTaking := context.WithCancel(context.Background())
	runCtx, abort := context.WithCancel(context.Background())
	l.stopTaking, l.abort = stopTaking, abort
	work := make(chan []*transport.Delivery)
	for range l.opts.Executors {
		l.workers.Add(1)
		go l.work(runCtx, work)
	}
	l.poller.Add(1)
	go l.poll(takeCtx, tl, work)
	l.log.Info("notification listener started", "queues", tl.Queues(), "executors", l.opts.Executors, "batch_size", l.opts.BatchSize)
	return nil
}

// Running reports whether the listener is consuming.
func (l *Listener) Running() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started && !l.closed && !l.failed.Load()
}

// Queues returns the names of the queues consumed; nil before Start.
func (l *Listener) Queues() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listener == nil {
		return nil
	}
	return l.listener.Queues()
}

// InFlight returns how many notifications are being handled.
func (l *Listener) InFlight() int { return int(l.inFlight.Load()) }

// Shutdown stops taking notifications, waits for the handlers running to
// return and their notifications to be acknowledged or requeued, then
// stops consuming; notifications taken from the broker but not handed
// over go back to their queue. When ctx ends first, the running handlers'
// context is cancelled and Shutdown returns ctx's error after they
// return. It is idempotent.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	wasStarted, wasClosed := l.started, l.closed
	l.closed = true
	l.mu.Unlock()
	if !wasStarted || wasClosed {
		if wasStarted {
			l.poller.Wait()
			l.workers.Wait()
		}
		return nil
	}
	l.stopTaking()
	done := make(chan struct{})
	go func() {
		l.poller.Wait()
		l.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		l.abort()
		<-done
	}
	l.abort()
	if cerr := l.listener.Close(); cerr != nil && !errors.Is(cerr, transport.ErrClosed) && err == nil {
		err = cerr
	}
	l.log.Info("notification listener stopped")
	return err
}

// poll takes deliveries, groups them in batches and hands them to the
// workers, until takeCtx ends or the listener closes; then it closes
// work. What it took and did not hand over goes back to its queue when
// the listener closes.
func (l *Listener) poll(takeCtx context.Context, tl transport.Listener, work chan<- []*transport.Delivery) {
	defer l.poller.Done()
	defer close(work)
	for {
		d, err := tl.Next(takeCtx)
		if err != nil {
			if takeCtx.Err() == nil && !errors.Is(err, transport.ErrClosed) {
				l.failed.Store(true)
				l.log.Error("notification listener failed; it takes no more notifications", "err", err)
			}
			return
		}
		batch := []*transport.Delivery{d}
		if l.opts.BatchSize > 1 {
			var stop bool
			if batch, stop = l.fill(takeCtx, tl, batch); stop {
				return
			}
		}
		if err := acquire(takeCtx, l.opts.Slots); err != nil {
			return
		}
		select {
		case work <- batch:
		case <-takeCtx.Done():
			release(l.opts.Slots)
			return
		}
	}
}

// fill adds deliveries to batch until it is full or BatchTimeout has
// passed since its first. stop is true when the listener stops
// meanwhile.
func (l *Listener) fill(takeCtx context.Context, tl transport.Listener, batch []*transport.Delivery) (_ []*transport.Delivery, stop bool) {
	ctx := takeCtx
	if l.opts.BatchTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(takeCtx, l.opts.BatchTimeout)
		defer cancel()
	}
	for len(batch) < l.opts.BatchSize {
		d, err := tl.Next(ctx)
		if err != nil {
			if takeCtx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return nil, true
			}
			if ctx.Err() == nil {
				l.failed.Store(true)
				l.log.Error("notification listener failed; it takes no more notifications", "err", err)
				return nil, true
			}
			break // the batch timed out
		}
		batch = append(batch, d)
	}
	return batch, false
}

// work handles batches until work is closed.
func (l *Listener) work(runCtx context.Context, work <-chan []*transport.Delivery) {
	defer l.workers.Done()
	for batch := range work {
		l.inFlight.Add(int64(len(batch)))
		l.handle(runCtx, batch)
		l.inFlight.Add(-int64(len(batch)))
		release(l.opts.Slots)
	}
}

// incoming is a delivery and what it carries.
type incoming struct {
	d        *transport.Delivery
	uniqueID string
	msg      Message
}

// handle decodes a batch, drops what cannot be read and duplicates,
// dispatches the rest and settles each delivery.
func (l *Listener) handle(ctx context.Context, batch []*transport.Delivery) {
	ins := make([]*incoming, 0, len(batch))
	for _, d := range batch {
		n, err := oslo.DecodeNotification(d.Body)
		if err != nil {
			// oslo's consumer rejects what it cannot deserialize: it would
			// fail again.
			l.log.Warn("notify: malformed notification dropped", "err", err, "queue", d.Queue, "bytes", len(d.Body))
			if err := d.Reject(); err != nil {
				l.log.Warn("notify: reject failed", "err", err)
			}
			continue
		}
		if l.recent.seen(n.UniqueID) {
			// oslo ignores it (and leaves it unacknowledged); the broker
			// would hold it for nothing.
			l.log.Warn("notify: ignoring duplicate notification", "unique_id", n.UniqueID, "message_id", n.MessageID)
			if err := d.Ack(); err != nil {
				l.log.Warn("notify: acknowledging a duplicate failed", "err", err)
			}
			continue
		}
		ins = append(ins, &incoming{d: d, uniqueID: n.UniqueID, msg: Message{
			Context:     n.Context,
			PublisherID: n.PublisherID,
			EventType:   n.EventType,
			// An unknown priority reaches no handler: the dispatchers
			// find none under it, and oslo acknowledges it.
			Priority: Priority(strings.ToLower(n.Priority)),
			Payload:  n.Payload,
			Metadata: Metadata{MessageID: n.MessageID, Timestamp: n.Timestamp},
			Hops:     n.Hops,
		}})
	}
	if len(ins) == 0 {
		return
	}
	ms := make([]*Message, len(ins))
	for i, in := range ins {
		ms[i] = &in.msg
		if !in.msg.Priority.Valid() {
			l.log.Warn("notify: unknown priority", "priority", in.msg.Priority, "message_id", in.msg.Metadata.MessageID)
		}
	}
	requeue, err := l.dispatch(ctx, ms)
	if err != nil {
		if l.opts.NoRequeue {
			l.log.Error("notify: handler failed; acknowledged (requeue not allowed)", "err", err, "count", len(ms))
		} else {
			l.log.Error("notify: handler failed; requeueing", "err", err, "count", len(ms))
		}
	}
	for i, in := range ins {
		l.settle(in, requeue[i])
	}
}

// settle acknowledges or requeues one notification.
func (l *Listener) settle(in *incoming, requeue bool) {
	if requeue && !l.opts.NoRequeue {
		if err := in.d.Nack(true); err != nil {
			// The broker requeues it anyway when the channel is gone.
			l.log.Warn("notify: requeue failed", "err", err, "message_id", in.msg.Metadata.MessageID)
		}
		return
	}
	// Remember it even when the acknowledgement fails: the broker delivers
	// it again, and it was handled.
	l.recent.add(in.uniqueID)
	if err := in.d.Ack(); err != nil {
		l.log.Warn("notify: acknowledgement failed", "err", err, "message_id", in.msg.Metadata.MessageID)
	}
}
