package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// maxChannelRetries bounds how often one publish is retried after the
// broker closed its channel (not the connection): once covers an
// auto-delete exchange deleted since the channel declared it.
const maxChannelRetries = 2

// spillAt is how many publishes in flight on a channel make the next
// publish take the next channel of the pool. The broker confirms the
// publishes of one channel in groups when they come together, so
// publishes gather on the first channels; the others take what is left.
const spillAt = 32

// publisher publishes with publisher confirms over a pool of channels on
// the supervisor's connection. Each channel carries up to maxInFlight
// publishes awaiting their confirm (pubChannel); a publish takes the first
// channel with fewer than spillAt.
type publisher struct {
	sup   *supervisor
	slots []pubSlot
	wg    sync.WaitGroup // the channels' run goroutines
}

// pubSlot holds one channel of the pool, opened on first use and opened
// again once it is gone.
type pubSlot struct {
	mu     sync.Mutex // held while opening, so that one publish opens
	pc     atomic.Pointer[pubChannel]
	closed atomic.Bool // the publisher is closed: open nothing
}

// publishing is one message and the declarations it needs first.
type publishing struct {
	exchange  exchangeDecl // declared unless its name is "" (default exchange)
	queue     *queueDecl   // declared and bound first when set (notifications)
	key       string
	body      []byte
	headers   amqp.Table // nil or the compression header
	mandatory bool
	ttl       time.Duration
	failFast  bool // ErrDisconnected rather than waiting for a connection
}

func newPublisher(sup *supervisor, n int) *publisher {
	return &publisher{sup: sup, slots: make([]pubSlot, n)}
}

// publish sends m and waits for the broker's confirm. While disconnected
// it waits (until ctx is done) and retries on the new connection, unless
// m.failFast.
func (p *publisher) publish(ctx context.Context, m publishing) error {
	channelRetries := 0
	for {
		if m.failFast && !p.sup.connected() {
			return fmt.Errorf("publish: %w", ErrDisconnected)
		}
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
		case pc.conn.IsClosed() || isNetworkError(err) && waitClosed(ctx, pc.conn):
			if m.failFast {
				return fmt.Errorf("publish: %w: %w", ErrDisconnected, err)
			}
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

// channel returns the first channel of the pool with fewer than spillAt
// publishes in flight, opening it on the current connection (waiting for
// one until ctx is done) when it is not open; the least busy when every
// channel has spillAt. It returns nil, nil when the connection went
// while opening.
func (p *publisher) channel(ctx context.Context) (*pubChannel, error) {
	var least *pubChannel
	for i := range p.slots {
		s := &p.slots[i]
		pc := s.pc.Load()
		switch {
		case s.closed.Load():
			return nil, ErrClosed
		case pc == nil || !pc.usable():
			return p.open(ctx, s)
		case len(pc.slots) < spillAt:
			return pc, nil
		case least == nil || len(pc.slots) < len(least.slots):
			least = pc
		}
	}
	return least, nil
}

// open opens the channel of slot s on the current connection, unless
// another publish did meanwhile.
func (p *publisher) open(ctx context.Context, s *pubSlot) (*pubChannel, error) {
	conn, err := p.sup.current(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch pc := s.pc.Load(); {
	case s.closed.Load():
		return nil, ErrClosed
	case pc != nil && pc.usable():
		return pc, nil
	}
	p.wg.Add(1)
	pc, err := openPubChannel(conn, p.wg.Done)
	if err != nil {
		p.wg.Done()
		if conn.IsClosed() {
			return nil, nil
		}
		return nil, err
	}
	s.pc.Store(pc)
	return pc, nil
}

// close closes the pooled channels and waits for their goroutines; the
// supervisor closes the connection.
func (p *publisher) close() {
	for i := range p.slots {
		s := &p.slots[i]
		s.mu.Lock()
		s.closed.Store(true)
		if pc := s.pc.Load(); pc != nil {
			pc.close()
		}
		s.mu.Unlock()
	}
	p.wg.Wait()
}

// isNetworkError reports whether err is the connection's socket failing
// (a reset, a closed pipe, an end of file): the connection is lost, even
// while amqp091-go has not marked it closed yet.
func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// waitClosed waits, up to closeTimeout, for conn to be marked closed after
// its socket failed, and reports whether it was.
func waitClosed(ctx context.Context, conn *amqp.Connection) bool {
	deadline := time.Now().Add(closeTimeout)
	for !conn.IsClosed() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
