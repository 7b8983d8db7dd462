package transport

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// Delivery is one message taken from a queue. Settle it exactly once with
// Ack, Nack or Reject; all three are safe to call from any goroutine.
type Delivery struct {
	Body        []byte
	Exchange    string // the exchange it was published to; "" is the default exchange
	RoutingKey  string
	Queue       string // the queue it was taken from
	Redelivered bool   // the broker delivered it before and it was not acknowledged

	ContentType     string
	ContentEncoding string
	// Expiration is the time to live its publisher gave the message (the
	// AMQP expiration property; oslo.messaging sets a call's timeout);
	// 0 when none. The consumer learns of it when it takes the message.
	Expiration time.Duration
	// Received is when the transport took the message from the broker
	// (or from its queue, in memory): a time to live runs from there,
	// however long the message then waits for a consumer to take it.
	Received time.Time

	settler settler
	settled atomic.Bool
}

// settler settles a delivery on the transport it came from.
type settler interface {
	ack() error
	nack(requeue bool) error
	reject(requeue bool) error
}

// Ack acknowledges the message: the broker forgets it.
func (d *Delivery) Ack() error {
	return d.settle("ack", func() error { return d.settler.ack() })
}

// Nack refuses the message: back to the queue when requeue, else dropped
// (or dead-lettered).
func (d *Delivery) Nack(requeue bool) error {
	return d.settle("nack", func() error { return d.settler.nack(requeue) })
}

// Reject drops the message (basic.reject without requeue), as
// oslo.messaging does with a message it cannot process.
func (d *Delivery) Reject() error {
	return d.settle("reject", func() error { return d.settler.reject(false) })
}

func (d *Delivery) settle(op string, f func() error) error {
	if d.settler == nil {
		return fmt.Errorf("%s: delivery not from a transport", op)
	}
	if !d.settled.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: %w", op, ErrSettled)
	}
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// parseExpiration reads an AMQP expiration property: milliseconds as a
// decimal string. Anything else means none.
func parseExpiration(s string) time.Duration {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
