package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// maxChannelRetries bounds how often one publish is retried after the
// broker closed its channel (not the connection): once covers an
// auto-delete exchange deleted since the channel declared it.
const maxChannelRetries = 2

// publisher publishes with publisher confirms over a pool of channels on
// the supervisor's connection. A channel carries one publish at a time,
// so that a basic.return (which the broker sends before the basic.ack of
// the same message) belongs without doubt to the publish waiting on it;
// concurrency comes from the number of channels.
type publisher struct {
	sup   *supervisor
	slots chan *pubChannel // holds nil (no channel yet) or an open channel
}

// pubChannel is one confirm-mode channel and what it declared.
type pubChannel struct {
	conn     *amqp.Connection
	ch       *amqp.Channel
	returns  chan amqp.Return
	closes   chan *amqp.Error
	declared map[string]bool
}

// publishing is one message and the declarations it needs first.
type publishing struct {
	exchange  exchangeDecl // declared unless its name is "" (default exchange)
	queue     *queueDecl   // declared and bound first when set (notifications)
	key       string
	body      []byte
	mandatory bool
	ttl       time.Duration
}

func newPublisher(sup *supervisor, n int) *publisher {
	p := &publisher{sup: sup, slots: make(chan *pubChannel, n)}
	for range n {
		p.slots <- nil
	}
	return p
}

// publish sends m and waits for the broker's confirm. While disconnected
// it waits (until ctx is done) and retries on the new connection.
func (p *publisher) publish(ctx context.Context, m publishing) error {
	var pc *pubChannel
	select {
	case pc = <-p.slots:
	case <-ctx.Done():
		return fmt.Errorf("publish: %w", ctx.Err())
	case <-p.sup.done:
		return ErrClosed
	}
	defer func() { p.slots <- pc }()

	channelRetries := 0
	for {
		if pc != nil && pc.ch.IsClosed() {
			pc = nil // its connection went since the last publish
		}
		if pc == nil {
			conn, err := p.sup.current(ctx)
			if err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			if pc, err = openPubChannel(conn); err != nil {
				if conn.IsClosed() {
					continue // lost meanwhile: wait for the next connection
				}
				return fmt.Errorf("publish: %w", err)
			}
		}
		err := pc.publish(ctx, m)
		if err == nil || errors.Is(err, ErrNoRoute) || errors.Is(err, ErrNacked) {
			return err
		}
		// Anything else leaves the channel closed or in doubt: drop it.
		conn := pc.conn
		pc.close()
		pc = nil
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("publish: %w", err)
		case conn.IsClosed():
			p.sup.log.Warn("connection lost while publishing; retrying", "error", err)
		case errors.Is(err, ErrPreconditionFailed) || isAccessRefused(err):
			return fmt.Errorf("publish: %w", err)
		default:
			channelRetries++
			if channelRetries > maxChannelRetries {
				return fmt.Errorf("publish: %w", err)
			}
			p.sup.log.Warn("channel closed while publishing; retrying", "error", err)
		}
	}
}

// close closes the pooled channels; the supervisor closes the connection.
func (p *publisher) close() {
	for range cap(p.slots) {
		if pc := <-p.slots; pc != nil {
			pc.close()
		}
	}
}

func openPubChannel(conn *amqp.Connection) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	return &pubChannel{
		conn:     conn,
		ch:       ch,
		returns:  ch.NotifyReturn(make(chan amqp.Return, 1)),
		closes:   ch.NotifyClose(make(chan *amqp.Error, 1)),
		declared: map[string]bool{},
	}, nil
}

func (pc *pubChannel) close() {
	if !pc.ch.IsClosed() {
		_ = pc.ch.Close()
	}
}

// publish declares what m needs (once per channel, as oslo caches its
// declarations per channel), publishes and waits for the confirm.
func (pc *pubChannel) publish(ctx context.Context, m publishing) error {
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
	msg := amqp.Publishing{
		ContentType:     ContentType,
		ContentEncoding: ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Body:            m.body,
	}
	if m.ttl > 0 {
		msg.Expiration = strconv.FormatInt(m.ttl.Milliseconds(), 10)
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, m.exchange.Name, m.key, m.mandatory, false, msg)
	if err != nil {
		return pc.channelError(err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err // the channel is in doubt; the caller drops it
	}
	if !acked {
		if pc.ch.IsClosed() {
			return pc.channelError(amqp.ErrClosed)
		}
		return ErrNacked
	}
	select {
	case r, ok := <-pc.returns:
		if ok {
			return &noRouteError{exchange: r.Exchange, key: r.RoutingKey, code: r.ReplyCode, text: r.ReplyText}
		}
		// Closed with the channel after the confirm: the message is in.
		return nil
	default:
		return nil
	}
}

// channelError prefers the broker's reason for closing the channel.
func (pc *pubChannel) channelError(err error) error {
	select {
	case e, ok := <-pc.closes:
		if ok && e != nil {
			return classify(e)
		}
	default:
	}
	return classify(err)
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
