package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// errNotFound is a publish to an exchange that does not exist.
var errNotFound = errors.New("not found")

// Memory is the in-memory Transport, oslo's fake:// driver. NewMemory
// makes a private broker; Connect adds another transport to the same
// broker, as a second process would connect to RabbitMQ. The broker
// declares, routes and checks declarations as RabbitMQ does (exchange
// kinds, topic patterns, mandatory, prefetch, requeue, inequivalent
// re-declarations), but does not expire idle queues (x-expires).
type Memory struct {
	opts  Options
	names queueNames
	*memBroker

	// guarded by memBroker.mu
	listeners map[*memListener]struct{}
	closed    bool
}

// memBroker is the state the transports of one broker share.
type memBroker struct {
	mu        sync.Mutex
	exchanges map[string]*memExchange
	queues    map[string]*memQueue
	wake      chan struct{} // closed and replaced whenever a listener may progress
}

var _ Transport = (*Memory)(nil)

// NewMemory returns a transport on a new, empty in-memory broker; its
// declarations follow opts.
func NewMemory(opts Options) (*Memory, error) {
	b := &memBroker{
		exchanges: map[string]*memExchange{},
		queues:    map[string]*memQueue{},
		wake:      make(chan struct{}),
	}
	return b.connect(opts)
}

// Connect returns another transport on m's broker, with its own options.
func (m *Memory) Connect(opts Options) (*Memory, error) { return m.memBroker.connect(opts) }

func (b *memBroker) connect(opts Options) (*Memory, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Memory{opts: opts, names: queueNames{opts: opts}, memBroker: b, listeners: map[*memListener]struct{}{}}, nil
}

// broadcast wakes every waiting listener. b.mu must be held.
func (b *memBroker) broadcast() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// ListenRPC implements Transport.
func (m *Memory) ListenRPC(ctx context.Context, t Target) (Listener, error) {
	if err := checkListenTarget(t); err != nil {
		return nil, err
	}
	qs := m.opts.rpcQueues(t, m.names.unique(t.Topic+"_fanout_"))
	return m.listen(qs, m.opts.deletedOnClose(qs[2]))
}

// ListenReplies implements Transport.
func (m *Memory) ListenReplies(ctx context.Context, queue string) (Listener, error) {
	if queue == "" {
		queue = "reply_" + m.names.unique("reply_")
	}
	return m.listen([]queueDecl{m.opts.replyQueue(queue)}, "")
}

// ListenNotifications implements Transport.
func (m *Memory) ListenNotifications(ctx context.Context, targets []NotifyTarget, pool string) (Listener, error) {
	if err := checkNotifyTargets(targets); err != nil {
		return nil, err
	}
	return m.listen(m.opts.notifyQueues(targets, pool), "")
}

func (m *Memory) listen(decls []queueDecl, fanout string) (Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	l := &memListener{m: m, fanout: fanout, unacked: map[*memSettler]struct{}{}}
	for _, q := range decls {
		if err := m.declareQueue(q); err != nil {
			return nil, fmt.Errorf("declare queue %s: %w", q.Name, err)
		}
		if !slices.Contains(l.queues, q.Name) {
			l.queues = append(l.queues, q.Name)
		}
	}
	for _, name := range l.queues {
		q := m.queues[name]
		q.consumers++
		q.hadConsumer = true
	}
	m.listeners[l] = struct{}{}
	return l, nil
}

// Send implements Transport.
func (m *Memory) Send(ctx context.Context, t Target, body []byte, opts SendOptions) error {
	if t.Topic == "" {
		return errors.New("send: empty topic")
	}
	if t.Fanout {
		return m.publish(m.opts.fanoutExchange(t.Topic), "", body, false, 0)
	}
	key := t.Topic
	if t.Server != "" {
		key += "." + t.Server
	}
	return m.publish(m.opts.topicExchange(t.Exchange), key, body, opts.Mandatory, opts.Expiration)
}

// Reply implements Transport.
func (m *Memory) Reply(ctx context.Context, queue string, body []byte) error {
	return m.publish(exchangeDecl{}, queue, body, !m.opts.NoDirectMandatory, 0)
}

// Notify implements Transport.
func (m *Memory) Notify(ctx context.Context, t NotifyTarget, body []byte) error {
	if err := checkNotifyTargets([]NotifyTarget{t}); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	key := t.RoutingKey()
	if err := m.declareQueue(m.opts.topicQueue(t.Exchange, key, "")); err != nil {
		return fmt.Errorf("notify: declare queue %s: %w", key, err)
	}
	return m.publishLocked(m.opts.topicExchange(t.Exchange), key, body, false, 0)
}

func (m *Memory) publish(ex exchangeDecl, key string, body []byte, mandatory bool, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := m.declareExchange(ex); err != nil {
		return fmt.Errorf("publish: declare exchange %s: %w", ex.Name, err)
	}
	return m.publishLocked(ex, key, body, mandatory, ttl)
}

func (m *Memory) publishLocked(ex exchangeDecl, key string, body []byte, mandatory bool, ttl time.Duration) error {
	n, err := m.route(ex.Name, key, body, ttl.Truncate(time.Millisecond))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if n == 0 && mandatory {
		return &noRouteError{exchange: ex.Name, key: key, code: 312, text: "NO_ROUTE"}
	}
	if n > 0 {
		m.broadcast()
	}
	return nil
}

// Close implements Transport: it closes every listener.
func (m *Memory) Close() error {
	m.mu.Lock()
	ls := make([]*memListener, 0, len(m.listeners))
	for l := range m.listeners {
		ls = append(ls, l)
	}
	m.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	m.mu.Lock()
	m.closed = true
	m.broadcast()
	m.mu.Unlock()
	return nil
}

// memListener consumes its queues by pulling from them in turn.
type memListener struct {
	m       *Memory
	queues  []string
	fanout  string // the fanout queue to delete on Close
	next    int    // queue to try first, for fairness
	seq     uint64 // deliveries so far
	unacked map[*memSettler]struct{}
	closed  bool
}

// Queues implements Listener.
func (l *memListener) Queues() []string { return slices.Clone(l.queues) }

// Next implements Listener.
func (l *memListener) Next(ctx context.Context) (*Delivery, error) {
	m := l.m
	for {
		m.mu.Lock()
		if l.closed || m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		if p := m.opts.PrefetchCount; p == 0 || len(l.unacked) < p {
			now := time.Now()
			for i := range l.queues {
				name := l.queues[(l.next+i)%len(l.queues)]
				msg := m.take(name, now)
				if msg == nil {
					continue
				}
				l.next = (l.next + i + 1) % len(l.queues)
				l.seq++
				s := &memSettler{l: l, queue: name, msg: msg, seq: l.seq}
				l.unacked[s] = struct{}{}
				m.mu.Unlock()
				return &Delivery{
					Body:            msg.body,
					Exchange:        msg.exchange,
					RoutingKey:      msg.key,
					Queue:           name,
					Redelivered:     msg.redelivered,
					ContentType:     ContentType,
					ContentEncoding: ContentEncoding,
					Expiration:      msg.ttl,
					Received:        now,
					settler:         s,
				}, nil
			}
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close implements Listener.
func (l *memListener) Close() error {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	delete(m.listeners, l)
	// Unacknowledged messages go back to the head, oldest first.
	pending := make([]*memSettler, 0, len(l.unacked))
	for s := range l.unacked {
		pending = append(pending, s)
	}
	slices.SortFunc(pending, func(a, b *memSettler) int { return cmp.Compare(b.seq, a.seq) })
	for _, s := range pending {
		m.requeue(s.queue, s.msg)
	}
	l.unacked = nil
	for _, name := range l.queues {
		q, ok := m.queues[name]
		if !ok {
			continue
		}
		q.consumers--
		if q.consumers == 0 && q.decl.AutoDelete && q.hadConsumer {
			m.deleteQueue(name)
		}
	}
	if l.fanout != "" {
		m.deleteQueue(l.fanout)
	}
	m.broadcast()
	return nil
}

// memSettler settles one delivery of a memListener.
type memSettler struct {
	l     *memListener
	queue string
	msg   *memMessage
	seq   uint64 // order of delivery by the listener
}

func (s *memSettler) settle(requeue bool) error {
	m := s.l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := s.l.unacked[s]; !ok {
		return ErrStaleDelivery
	}
	delete(s.l.unacked, s)
	if requeue {
		m.requeue(s.queue, s.msg)
	}
	m.broadcast()
	return nil
}

func (s *memSettler) ack() error                { return s.settle(false) }
func (s *memSettler) nack(requeue bool) error   { return s.settle(requeue) }
func (s *memSettler) reject(requeue bool) error { return s.settle(requeue) }

// checkListenTarget checks what ListenRPC needs.
func checkListenTarget(t Target) error {
	if t.Topic == "" || t.Server == "" {
		return fmt.Errorf("listen: target needs a topic and a server (got topic %q, server %q)", t.Topic, t.Server)
	}
	return nil
}

// checkNotifyTargets checks what notifications need.
func checkNotifyTargets(ts []NotifyTarget) error {
	if len(ts) == 0 {
		return errors.New("notifications: no target")
	}
	for _, t := range ts {
		if t.Topic == "" || t.Priority == "" {
			return fmt.Errorf("notifications: target needs a topic and a priority (got %q, %q)", t.Topic, t.Priority)
		}
	}
	return nil
}
