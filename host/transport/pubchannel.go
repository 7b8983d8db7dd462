package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// maxInFlight bounds the publishes awaiting their confirm on one channel.
// It is also the capacity of the channel's return and confirm queues, so
// that amqp091-go's reader never finds them full (it would wait 5 s, then
// drop the notification).
const maxInFlight = 128

// pubChannel is one confirm-mode channel carrying many publishes at once.
//
// A basic.return carries no delivery tag, so every mandatory publish gets a
// message_id unique on the channel, and a return is matched to its publish
// by it. The broker sends a message's basic.return before its basic.ack,
// and amqp091-go's reader hands both to us in that order (the return to
// the NotifyReturn queue, then the confirmation to the NotifyPublish
// queue); run, the one goroutine reading both queues, takes every queued
// return before it settles a confirmation, so a publish's return is always
// known when its confirm is.
type pubChannel struct {
	conn     *amqp.Connection
	ch       *amqp.Channel
	returns  chan amqp.Return
	confirms chan amqp.Confirmation
	closes   chan *amqp.Error
	slots    chan struct{}          // one token per publish in flight
	gone     chan struct{}          // closed by run once the channel is gone
	onGone   func()                 // called by run as it returns
	returned map[string]amqp.Return // by message_id; owned by run

	// mu serializes what is written on the channel (a publish's frames
	// must not interleave with a declaration's) and guards the fields
	// below. No other lock is taken while it is held.
	mu       sync.Mutex
	seq      uint64                     // last message_id given
	pending  map[uint64]*pendingPublish // by delivery tag
	declared map[string]bool            // exchanges and queues declared on the channel
	err      error                      // why the channel is gone; nil while open
}

// pendingPublish is one publish awaiting its confirm.
type pendingPublish struct {
	id   string     // message_id, "" unless mandatory
	done chan error // receives the outcome once; buffered
}

// channelClosedError fails the publishes in flight on a channel that
// closed under them: retried on a new channel, whatever closed this one.
type channelClosedError struct{ err error }

func (e *channelClosedError) Error() string {
	return fmt.Sprintf("channel closed with the message unconfirmed: %v", e.err)
}

func (e *channelClosedError) Unwrap() error { return e.err }

// openPubChannel opens a confirm-mode channel on conn and starts its
// reader; onGone is called once it has stopped.
func openPubChannel(conn *amqp.Connection, onGone func()) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	pc := &pubChannel{
		conn:     conn,
		ch:       ch,
		returns:  ch.NotifyReturn(make(chan amqp.Return, maxInFlight)),
		confirms: ch.NotifyPublish(make(chan amqp.Confirmation, maxInFlight)),
		closes:   ch.NotifyClose(make(chan *amqp.Error, 1)),
		slots:    make(chan struct{}, maxInFlight),
		gone:     make(chan struct{}),
		onGone:   onGone,
		returned: map[string]amqp.Return{},
		pending:  map[uint64]*pendingPublish{},
		declared: map[string]bool{},
	}
	go pc.run()
	return pc, nil
}

// usable reports whether the channel can take a publish.
func (pc *pubChannel) usable() bool {
	select {
	case <-pc.gone:
		return false
	default:
		return !pc.ch.IsClosed()
	}
}

// close closes the channel; run then fails what is in flight and returns.
func (pc *pubChannel) close() {
	if !pc.ch.IsClosed() {
		_ = pc.ch.Close()
	}
}

// publish declares what m needs (once per channel, as oslo caches its
// declarations per channel), publishes and waits for the confirm. An
// error other than ErrNoRoute, ErrNacked and the context's leaves the
// channel closed or in doubt.
func (pc *pubChannel) publish(ctx context.Context, m *publishing) error {
	select {
	case pc.slots <- struct{}{}:
	case <-pc.gone:
		return pc.goneErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	p, err := pc.send(ctx, m)
	if err != nil {
		<-pc.slots
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// run still settles it and frees its slot; the channel stays.
		return ctx.Err()
	}
}

// send declares and publishes m, and registers it as pending.
func (pc *pubChannel) send(ctx context.Context, m *publishing) (*pendingPublish, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.err != nil {
		return nil, pc.err
	}
	if err := pc.declare(m); err != nil {
		return nil, err
	}
	p := &pendingPublish{done: make(chan error, 1)}
	msg := amqp.Publishing{
		ContentType:     ContentType,
		ContentEncoding: ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Headers:         m.headers,
		Body:            m.body,
	}
	if m.ttl > 0 {
		msg.Expiration = strconv.FormatInt(m.ttl.Milliseconds(), 10)
	}
	if m.mandatory {
		pc.seq++
		p.id = strconv.FormatUint(pc.seq, 10)
		msg.MessageId = p.id
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, m.exchange.Name, m.key, m.mandatory, false, msg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &channelClosedError{err: err}
	}
	pc.pending[dc.DeliveryTag] = p
	return p, nil
}

// declare declares m's exchange and queue unless the channel did. The
// caller holds mu.
func (pc *pubChannel) declare(m *publishing) error {
	if ex := m.exchange; ex.Name != "" && !pc.declared["e/"+ex.Name] {
		if err := declareExchange(pc.ch, ex); err != nil {
			return err
		}
		pc.declared["e/"+ex.Name] = true
	}
	if q := m.queue; q != nil && !pc.declared["q/"+q.Exchange.Name+"/"+q.Name] {
		if err := declareQueue(pc.ch, *q); err != nil {
			return err
		}
		pc.declared["q/"+q.Exchange.Name+"/"+q.Name] = true
	}
	return nil
}

// run settles the confirms as they come, with the returns that came
// before them, until the channel is gone; then it fails the publishes
// still in flight.
func (pc *pubChannel) run() {
	defer pc.onGone()
	returns := pc.returns
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil // closed with the channel; confirms follow
				continue
			}
			pc.noteReturn(r)
		case c, ok := <-pc.confirms:
			if !ok {
				pc.shutdown()
				return
			}
			pc.takeReturns()
			pc.settle(c)
		}
	}
}

// noteReturn remembers a return until its confirm comes.
func (pc *pubChannel) noteReturn(r amqp.Return) {
	if r.MessageId != "" {
		pc.returned[r.MessageId] = r
	}
}

// takeReturns notes the returns already queued: those of every confirm
// queued after them.
func (pc *pubChannel) takeReturns() {
	for {
		select {
		case r, ok := <-pc.returns:
			if !ok {
				return
			}
			pc.noteReturn(r)
		default:
			return
		}
	}
}

// settle hands a confirm's outcome to its publish and frees its slot.
func (pc *pubChannel) settle(c amqp.Confirmation) {
	pc.mu.Lock()
	p := pc.pending[c.DeliveryTag]
	delete(pc.pending, c.DeliveryTag)
	pc.mu.Unlock()
	if p == nil {
		return // amqp091-go confirms only what was published
	}
	var err error
	r, returned := pc.returned[p.id] // never for "": noteReturn skips it
	if returned {
		delete(pc.returned, p.id)
	}
	switch {
	case !c.Ack:
		err = ErrNacked
	case returned:
		err = &noRouteError{exchange: r.Exchange, key: r.RoutingKey, code: r.ReplyCode, text: r.ReplyText}
	}
	p.done <- err
	<-pc.slots
}

// shutdown fails the publishes in flight with the reason the channel
// closed, and refuses new ones.
func (pc *pubChannel) shutdown() {
	var reason error = amqp.ErrClosed
	select {
	case e, ok := <-pc.closes:
		if ok && e != nil {
			reason = e
		}
	default:
	}
	pc.mu.Lock()
	pc.err = &channelClosedError{err: reason}
	pending := pc.pending
	pc.pending = nil
	pc.mu.Unlock()
	for _, p := range pending {
		p.done <- pc.err
		<-pc.slots
	}
	close(pc.gone)
}

// goneErr returns why the channel is gone.
func (pc *pubChannel) goneErr() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.err
}

// declareExchange runs one exchange.declare as kombu does.
func declareExchange(ch *amqp.Channel, ex exchangeDecl) error {
	if err := ch.ExchangeDeclare(ex.Name, ex.Kind, ex.Durable, ex.AutoDelete, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", ex.Name, classify(err))
	}
	return nil
}

// declareQueue declares q's exchange, q, and binds q (kombu's
// Queue.declare).
func declareQueue(ch *amqp.Channel, q queueDecl) error {
	if q.Exchange.Name != "" {
		if err := declareExchange(ch, q.Exchange); err != nil {
			return err
		}
	}
	if _, err := ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, false, false, amqp.Table(q.Args)); err != nil {
		return fmt.Errorf("declare queue %s: %w", q.Name, classify(err))
	}
	if q.Exchange.Name != "" {
		if err := ch.QueueBind(q.Name, q.BindingKey, q.Exchange.Name, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s with %q: %w", q.Name, q.Exchange.Name, q.BindingKey, classify(err))
		}
	}
	return nil
}

// classify marks a broker's PRECONDITION_FAILED with ErrPreconditionFailed.
func classify(err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed && !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("%w: %w", ErrPreconditionFailed, err)
	}
	return err
}

func isAccessRefused(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.AccessRefused
}
