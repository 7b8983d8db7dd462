package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// connectionStatus is what a transport that knows its connection tells
// (the AMQP transport; the in-memory one is always connected).
type connectionStatus interface {
	Status() transport.Status
}

// send publishes body to the client's target, retrying as oslo's retry
// says (kombu's ensure):
//
//   - The transport itself waits for its connection to come back and
//     republishes; with [RetryForever] a send waits as long as ctx
//     allows.
//   - With a limited retry, an attempt while the transport reports its
//     publishing connection down fails at once, and so do an attempt
//     whose connection is lost before the broker confirmed it and a
//     message the broker refused (basic.nack); after retry such failures,
//     with kombu's pauses between them, the send fails with
//     [ErrDeliveryFailure].
//
// Other errors (a declaration the broker refuses, a closed transport)
// are not retried.
func (c *Client) send(ctx context.Context, body []byte, opts transport.SendOptions) error {
	target := c.s.target.transportTarget()
	retry := c.s.retry
	status, _ := c.t.(connectionStatus)
	for attempt := 0; ; attempt++ {
		var err error
		if retry != RetryForever && status != nil && !status.Status().SendConnected {
			err = transport.ErrDisconnected
		} else {
			opts.FailFast = retry != RetryForever
			err = c.t.Send(ctx, target, body, opts)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil || !errors.Is(err, transport.ErrNacked) && !errors.Is(err, transport.ErrDisconnected) {
				return fmt.Errorf("rpc: send to %v: %w", c.s.target, err)
			}
		}
		if retry != RetryForever && attempt >= retry {
			return fmt.Errorf("%w: %v after %d retries: %w", ErrDeliveryFailure, c.s.target, attempt, err)
		}
		if !sleepCtx(ctx, retryPause(attempt)) {
			return fmt.Errorf("rpc: send to %v: %w (after %w)", c.s.target, ctx.Err(), err)
		}
	}
}

// retryPause is kombu's pause before retry n+1 with oslo's defaults
// (rabbit_retry_interval 1 s, rabbit_retry_backoff 2 s, rabbit_interval_max
// 30 s).
func retryPause(n int) time.Duration {
	return min(time.Second+time.Duration(n)*2*time.Second, 30*time.Second)
}

// sleepCtx waits d or until ctx is done; it reports whether ctx is live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
