package transport

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by a closed Transport or Listener.
	ErrClosed = errors.New("transport closed")
	// ErrNoRoute is returned when a mandatory publish reaches no queue
	// (basic.return NO_ROUTE): for a reply, the caller's reply queue is
	// gone. oslo.messaging calls it MessageUndeliverable.
	ErrNoRoute = errors.New("message unroutable: no queue bound")
	// ErrNacked is returned when the broker refuses a message (basic.nack).
	ErrNacked = errors.New("message refused by the broker")
	// ErrDisconnected is returned by a Send with SendOptions.FailFast when
	// the connection is down, or is lost before the broker confirmed the
	// message (which may have reached it).
	ErrDisconnected = errors.New("not connected to the broker")
	// ErrStaleDelivery is returned by Delivery.Ack, Nack and Reject when the
	// channel the delivery came on is gone (a reconnect, or the listener
	// was closed): the broker has requeued the message already.
	ErrStaleDelivery = errors.New("delivery is stale: its channel is gone and the broker requeues it")
	// ErrSettled is returned by a second Ack, Nack or Reject of a delivery.
	ErrSettled = errors.New("delivery already acknowledged or rejected")
	// ErrPreconditionFailed is wrapped by the errors of a declaration that
	// clashes with an existing exchange or queue of different properties
	// (AMQP 406 PRECONDITION_FAILED).
	ErrPreconditionFailed = errors.New("precondition failed")
)

// noRouteError is ErrNoRoute with what the broker said.
type noRouteError struct {
	exchange, key string
	code          uint16
	text          string
}

func (e *noRouteError) Error() string {
	ex := e.exchange
	if ex == "" {
		ex = "(default exchange)"
	}
	return fmt.Sprintf("%v: exchange %s, routing key %q: %d %s", ErrNoRoute, ex, e.key, e.code, e.text)
}

func (e *noRouteError) Unwrap() error { return ErrNoRoute }
