package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/host/compression"
)

// AMQP is the Transport over RabbitMQ. It keeps two connections, as
// oslo.messaging does: one for publishing (a pool of confirm-mode
// channels) and one for listening (a channel per listener), so that a
// broker blocking publishers does not stall consumers and their acks.
type AMQP struct {
	url   *URL
	opts  Options
	send  *supervisor
	recv  *supervisor
	pub   *publisher
	names queueNames
	codec *compression.Codec // of publishes; nil for none

	unreadable atomic.Uint64 // messages dropped: their compression cannot be read

	mu        sync.Mutex
	listeners map[*amqpListener]struct{}
	closed    bool
}

var _ Transport = (*AMQP)(nil)

// Status is the state of an AMQP transport's connections.
type Status struct {
	SendConnected   bool   // the publishing connection is up
	ListenConnected bool   // the listening connection is up
	Reconnects      uint64 // connections re-established since Dial
	// Unreadable counts the messages dropped because their compression
	// header names a codec wasmrpcd cannot read or their body does not
	// decompress.
	Unreadable uint64
}

// DialAMQP connects to the broker of u with opts, overridden by u's query
// options. It tries every host of u, round after round, until one
// answers or ctx is done; after that it reconnects by itself for as long
// as the transport is open.
func DialAMQP(ctx context.Context, u *URL, opts Options) (*AMQP, error) {
	if u.Scheme == "fake" {
		return nil, fmt.Errorf("%w: fake:// is the in-memory transport (use Open)", ErrInvalidURL)
	}
	opts, warnings, err := opts.Apply(u.Query)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		opts.logger().Warn("transport URL: " + w)
	}
	a := &AMQP{url: u, opts: opts, listeners: map[*amqpListener]struct{}{}, names: queueNames{opts: opts}}
	if opts.Compression != "" {
		if a.codec, err = compression.ForOption(opts.Compression); err != nil {
			return nil, fmt.Errorf("%w: kombu_compression: %v", ErrInvalidOption, err)
		}
	}
	if a.send, err = newSupervisor(ctx, connectionName(opts, "send"), u, opts); err != nil {
		return nil, err
	}
	if a.recv, err = newSupervisor(ctx, connectionName(opts, "listen"), u, opts); err != nil {
		a.send.close()
		return nil, err
	}
	a.pub = newPublisher(a.send, opts.publishChannels())
	return a, nil
}

// Open parses a transport URL and opens its transport: the in-memory one
// for fake://, else DialAMQP.
func Open(ctx context.Context, rawURL string, opts Options) (Transport, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "fake" {
		if opts, err = u.Options(opts); err != nil {
			return nil, err
		}
		return NewMemory(opts)
	}
	return DialAMQP(ctx, u, opts)
}

// Options returns the options in force (the URL's query applied).
func (a *AMQP) Options() Options { return a.opts }

// ConnectionNames returns the connection_name client properties of the
// publishing and the listening connection.
func (a *AMQP) ConnectionNames() (send, listen string) { return a.send.name, a.recv.name }

// Status reports the connections' state.
func (a *AMQP) Status() Status {
	return Status{
		SendConnected:   a.send.connected(),
		ListenConnected: a.recv.connected(),
		Reconnects:      a.send.reconnects.Load() + a.recv.reconnects.Load(),
		Unreadable:      a.unreadable.Load(),
	}
}

// ListenRPC implements Transport.
func (a *AMQP) ListenRPC(ctx context.Context, t Target) (Listener, error) {
	if err := checkListenTarget(t); err != nil {
		return nil, err
	}
	qs := a.opts.rpcQueues(t, a.names.unique(t.Topic+"_fanout_"))
	return a.listen(ctx, qs, a.opts.deletedOnClose(qs[2]))
}

// ListenReplies implements Transport.
func (a *AMQP) ListenReplies(ctx context.Context, queue string) (Listener, error) {
	if queue == "" {
		queue = "reply_" + a.names.unique("reply_")
	}
	return a.listen(ctx, []queueDecl{a.opts.replyQueue(queue)}, "")
}

// ListenNotifications implements Transport.
func (a *AMQP) ListenNotifications(ctx context.Context, targets []NotifyTarget, pool string) (Listener, error) {
	if err := checkNotifyTargets(targets); err != nil {
		return nil, err
	}
	return a.listen(ctx, a.opts.notifyQueues(targets, pool), "")
}

func (a *AMQP) listen(ctx context.Context, decls []queueDecl, fanout string) (Listener, error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, ErrClosed
	}
	l := newAMQPListener(a.recv, a.opts, decls, fanout, &a.unreadable)
	l.onClose = a.forget
	a.listeners[l] = struct{}{}
	a.mu.Unlock()
	if err := l.start(ctx); err != nil {
		a.forget(l)
		l.cancel()
		return nil, fmt.Errorf("listen on %v: %w", l.queues, err)
	}
	return l, nil
}

func (a *AMQP) forget(l *amqpListener) {
	a.mu.Lock()
	delete(a.listeners, l)
	a.mu.Unlock()
}

// Send implements Transport.
func (a *AMQP) Send(ctx context.Context, t Target, body []byte, opts SendOptions) error {
	if t.Topic == "" {
		return errors.New("send: empty topic")
	}
	if t.Fanout {
		// fanout_send publishes with kombu's default routing key, "".
		return a.publish(ctx, publishing{exchange: a.opts.fanoutExchange(t.Topic), body: body, failFast: opts.FailFast})
	}
	key := t.Topic
	if t.Server != "" {
		key += "." + t.Server
	}
	return a.publish(ctx, publishing{
		exchange:  a.opts.topicExchange(t.Exchange),
		key:       key,
		body:      body,
		mandatory: opts.Mandatory,
		ttl:       opts.Expiration,
		failFast:  opts.FailFast,
	})
}

// Reply implements Transport.
func (a *AMQP) Reply(ctx context.Context, queue string, body []byte) error {
	return a.publish(ctx, publishing{key: queue, body: body, mandatory: !a.opts.NoDirectMandatory})
}

// Notify implements Transport.
func (a *AMQP) Notify(ctx context.Context, t NotifyTarget, body []byte) error {
	if err := checkNotifyTargets([]NotifyTarget{t}); err != nil {
		return err
	}
	key := t.RoutingKey()
	q := a.opts.topicQueue(t.Exchange, key, "")
	return a.publish(ctx, publishing{exchange: q.Exchange, queue: &q, key: key, body: body})
}

func (a *AMQP) publish(ctx context.Context, m publishing) error {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if a.codec != nil {
		// As kombu: the body compressed, the codec named in a header.
		body, err := a.codec.Compress(nil, m.body)
		if err != nil {
			return fmt.Errorf("publish: compress: %w", err)
		}
		m.body, m.headers = body, amqp.Table{"compression": a.codec.MIME()}
	}
	return a.pub.publish(ctx, m)
}

// Close implements Transport: it closes the listeners (deleting their
// fanout queues), the publishing channels and both connections.
func (a *AMQP) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	ls := make([]*amqpListener, 0, len(a.listeners))
	for l := range a.listeners {
		ls = append(ls, l)
	}
	a.mu.Unlock()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Close())
	}
	a.send.close()
	a.pub.close()
	a.recv.close()
	return errors.Join(errs...)
}
