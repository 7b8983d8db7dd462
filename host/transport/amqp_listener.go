package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/host/compression"
)

// amqpListener consumes its queues on a channel of its own. When the
// channel or the connection goes, it opens a new channel on the next
// connection, declares its queues again (the fanout queue keeps its name)
// and resumes consuming.
type amqpListener struct {
	sup    *supervisor
	opts   Options
	decls  []queueDecl
	queues []string // distinct queue names, consumed once each
	fanout string   // deleted on Close
	// offsets are where the consumers of streams resume, by queue name:
	// "next" at first, then after the last delivery taken.
	offsets    map[string]any
	unreadable *atomic.Uint64 // counts the messages whose compression cannot be read

	out     chan *Delivery
	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	done    chan struct{} // closed when run returns
	once    sync.Once
	mu      sync.Mutex
	started bool // run was started; guarded by mu
	onClose func(*amqpListener)
}

// attachment is one channel's consumers.
type attachment struct {
	ch         *amqp.Channel
	deliveries []<-chan amqp.Delivery // by index of queues
}

func newAMQPListener(sup *supervisor, opts Options, decls []queueDecl, fanout string, unreadable *atomic.Uint64) *amqpListener {
	l := &amqpListener{
		sup: sup, opts: opts, decls: decls, fanout: fanout, unreadable: unreadable,
		offsets: map[string]any{}, out: make(chan *Delivery), done: make(chan struct{}),
	}
	for _, q := range decls {
		if !slices.Contains(l.queues, q.Name) {
			l.queues = append(l.queues, q.Name)
		}
		if q.isStream() {
			// Only what is published from now on: oslo 18.1.0 starts at
			// "last", which hands a new server the last chunk's casts
			// again (docs/RATIONALE.md).
			l.offsets[q.Name] = "next"
		}
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// start declares and consumes on the current connection, then hands over
// to run. A declaration the broker refuses is returned.
func (l *amqpListener) start(ctx context.Context) error {
	for {
		conn, err := l.sup.current(ctx)
		if err != nil {
			return err
		}
		att, err := l.attach(conn)
		if err != nil {
			if conn.IsClosed() {
				continue
			}
			return err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.ctx.Err() != nil { // closed meanwhile
			_ = att.ch.Close()
			return ErrClosed
		}
		l.started = true
		go l.run(att)
		return nil
	}
}

// attach opens a channel on conn, sets the prefetch, declares the queues
// and starts a consumer on each.
func (l *amqpListener) attach(conn *amqp.Connection) (*attachment, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	att := &attachment{ch: ch}
	fail := func(err error) (*attachment, error) {
		_ = ch.Close()
		return nil, err
	}
	if n := l.opts.PrefetchCount; n > 0 {
		if err := ch.Qos(n, 0, false); err != nil {
			return fail(err)
		}
	}
	for _, q := range l.decls {
		if err := declareQueue(ch, q); err != nil {
			return fail(err)
		}
	}
	for _, q := range l.queues {
		l.mu.Lock()
		offset := l.offsets[q]
		l.mu.Unlock()
		args := amqp.Table(l.opts.consumerArgs(l.decl(q), offset))
		d, err := ch.Consume(q, "", false, false, false, false, args)
		if err != nil {
			return fail(classify(err))
		}
		att.deliveries = append(att.deliveries, d)
	}
	return att, nil
}

// decl returns the declaration of the queue named name.
func (l *amqpListener) decl(name string) queueDecl {
	for _, q := range l.decls {
		if q.Name == name {
			return q
		}
	}
	return queueDecl{Name: name}
}

// run forwards deliveries, and re-attaches after each loss, until Close.
func (l *amqpListener) run(att *attachment) {
	defer close(l.done)
	for {
		l.pump(att)
		if l.ctx.Err() != nil {
			return
		}
		// Lost the channel on a live connection (a consumer cancelled by
		// the broker, a channel error): wait kombu_reconnect_delay first.
		// Without a connection, current waits for the next one.
		if l.sup.connected() && !sleepCtx(l.ctx, l.opts.reconnectPause()) {
			return
		}
		att = nil
		for attempt := 0; att == nil; attempt++ {
			conn, err := l.sup.current(l.ctx)
			if err != nil {
				return
			}
			if att, err = l.attach(conn); err != nil {
				l.sup.log.Error("cannot resume consuming", "queues", l.queues, "error", err)
				if !sleepCtx(l.ctx, l.opts.backoff(attempt)) {
					return
				}
			}
		}
		l.sup.log.Info("resumed consuming", "queues", l.queues)
	}
}

// pump forwards the deliveries of att until one of its consumers ends
// (channel closed, consumer cancelled) or the listener closes; then it
// closes the channel, which hands the unacknowledged messages back.
func (l *amqpListener) pump(att *attachment) {
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	for i, deliveries := range att.deliveries {
		queue := l.queues[i]
		wg.Go(func() {
			for {
				var d amqp.Delivery
				var ok bool
				select {
				case d, ok = <-deliveries:
				case <-stop:
					return
				case <-l.ctx.Done():
					return
				}
				if !ok {
					stopOnce.Do(func() { close(stop) })
					return
				}
				if offset, ok := d.Headers["x-stream-offset"].(int64); ok {
					l.mu.Lock()
					l.offsets[queue] = offset + 1
					l.mu.Unlock()
				}
				body, err := l.decompress(&d)
				if err != nil {
					// As kombu's consumer: rejected, not requeued, as it
					// would fail again; but said and counted.
					l.unreadable.Add(1)
					l.sup.log.Error("message dropped: its body cannot be decompressed",
						"queue", queue, "compression", fmt.Sprint(d.Headers["compression"]), "bytes", len(d.Body), "err", err)
					_ = d.Reject(false)
					continue
				}
				del := &Delivery{
					Body:            body,
					Exchange:        d.Exchange,
					RoutingKey:      d.RoutingKey,
					Queue:           queue,
					Redelivered:     d.Redelivered,
					ContentType:     d.ContentType,
					ContentEncoding: d.ContentEncoding,
					Expiration:      parseExpiration(d.Expiration),
					Received:        time.Now(),
					settler:         amqpSettler{d},
				}
				select {
				case l.out <- del:
				case <-stop:
					return
				case <-l.ctx.Done():
					return
				}
			}
		})
	}
	select {
	case <-stop:
	case <-l.ctx.Done():
	}
	if !att.ch.IsClosed() {
		_ = att.ch.Close()
	}
	wg.Wait()
}

// maxDecompressed bounds a decompressed body: RabbitMQ's own default
// maximum message size (max_message_size, 128 MiB).
const maxDecompressed = 128 << 20

// decompress returns d's body, decompressed as kombu's Message does when
// its compression header is set, whatever this side's kombu_compression.
func (l *amqpListener) decompress(d *amqp.Delivery) ([]byte, error) {
	h, ok := d.Headers["compression"]
	if !ok {
		return d.Body, nil
	}
	name, ok := h.(string)
	if !ok {
		return nil, fmt.Errorf("compression header %v is not a string", h)
	}
	return compression.Decompress(name, d.Body, maxDecompressed)
}

// Next implements Listener.
func (l *amqpListener) Next(ctx context.Context) (*Delivery, error) {
	select {
	case d := <-l.out:
		return d, nil
	case <-l.ctx.Done():
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Queues implements Listener.
func (l *amqpListener) Queues() []string { return slices.Clone(l.queues) }

// Close implements Listener.
func (l *amqpListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		l.mu.Lock()
		started := l.started
		l.mu.Unlock()
		if started {
			<-l.done
		}
		if l.fanout != "" {
			err = l.deleteQueue(l.fanout)
		}
		if l.onClose != nil {
			l.onClose(l)
		}
	})
	return err
}

// deleteQueue deletes a queue, if the broker can be reached soon.
func (l *amqpListener) deleteQueue(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	conn, err := l.sup.current(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	_, err = ch.QueueDelete(name, false, false, false)
	return err
}

// amqpSettler settles on the channel the delivery came on; once that
// channel is gone the broker has requeued the message.
type amqpSettler struct{ d amqp.Delivery }

func (s amqpSettler) ack() error                { return stale(s.d.Ack(false)) }
func (s amqpSettler) nack(requeue bool) error   { return stale(s.d.Nack(false, requeue)) }
func (s amqpSettler) reject(requeue bool) error { return stale(s.d.Reject(requeue)) }

// stale maps the errors of a settle whose channel is gone to
// ErrStaleDelivery: amqp.ErrClosed once amqp091-go knows, and a failed
// write on the socket (the broker closed the connection, which amqp091-go
// then shuts down), keeping the cause.
func stale(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, amqp.ErrClosed):
		return ErrStaleDelivery
	case errors.As(err, &ne):
		return fmt.Errorf("%w: %w", ErrStaleDelivery, err)
	}
	return err
}

// sleepCtx waits d or until ctx is done; it reports whether ctx is live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
