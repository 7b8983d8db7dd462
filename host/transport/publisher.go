package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxChannelRetries bounds how often one publish is retried after the
// broker closed its channel (not the connection): once covers an
// auto-delete exchange deleted since the channel declared it.
const maxChannelRetries = 2

// publisher publishes with publisher confirms over a pool of channels on
// the supervisor's connection. Publishes take the channels in turn, and
// each channel carries up to maxInFlight publishes awaiting their confirm
// (pubChannel).
type publisher struct {
	sup   *supervisor
	slots []pubSlot
	next  atomic.Uint64
	wg    sync.WaitGroup // the channels' run goroutines
}

// pubSlot holds one channel of the pool, opened on first use and opened
// again once it is gone.
type pubSlot struct {
	mu     sync.Mutex // held while opening, so that one publish opens
	pc     *pubChannel
	closed bool // the publisher is closed: open nothing
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
	return &publisher{sup: sup, slots: make([]pubSlot, n)}
}

// publish sends m and waits for the broker's confirm. While disconnected
// it waits (until ctx is done) and retries on the new connection.
func (p *publisher) publish(ctx context.Context, m publishing) error {
	channelRetries := 0
	for {
		pc, err := p.channel(ctx)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if pc == nil {
			continue // the connection went while opening: wait for the next
		}
		err = pc.publish(ctx, &m)
		if err == nil || errors.Is(err, ErrNoRoute) || errors.Is(err, ErrNacked) {
			return err
		}
		var closed *channelClosedError
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("publish: %w", err)
		case pc.conn.IsClosed():
			p.sup.log.Warn("connection lost while publishing; retrying", "error", err)
			continue
		case errors.As(err, &closed):
			// Closed under this publish, maybe by another one's fault.
		case errors.Is(err, ErrPreconditionFailed) || isAccessRefused(err):
			return fmt.Errorf("publish: %w", err)
		}
		// The broker closed the channel: retry on a new one.
		channelRetries++
		if channelRetries > maxChannelRetries {
			return fmt.Errorf("publish: %w", err)
		}
		p.sup.log.Warn("channel closed while publishing; retrying", "error", err)
	}
}

// channel returns an open channel of the pool, opening it on the current
// connection (waiting for one until ctx is done) when needed. It returns
// nil, nil when that connection went meanwhile.
func (p *publisher) channel(ctx context.Context) (*pubChannel, error) {
	s := &p.slots[p.next.Add(1)%uint64(len(p.slots))]
	s.mu.Lock()
	pc, closed := s.pc, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if pc != nil && pc.usable() {
		return pc, nil
	}
	conn, err := p.sup.current(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.pc != nil && s.pc.usable():
		return s.pc, nil // opened by another publish meanwhile
	}
	p.wg.Add(1)
	pc, err = openPubChannel(conn, p.wg.Done)
	if err != nil {
		p.wg.Done()
		if conn.IsClosed() {
			return nil, nil
		}
		return nil, err
	}
	s.pc = pc
	return pc, nil
}

// close closes the pooled channels and waits for their goroutines; the
// supervisor closes the connection.
func (p *publisher) close() {
	for i := range p.slots {
		s := &p.slots[i]
		s.mu.Lock()
		s.closed = true
		if s.pc != nil {
			s.pc.close()
		}
		s.mu.Unlock()
	}
	p.wg.Wait()
}
