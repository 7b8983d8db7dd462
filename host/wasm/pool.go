package wasm

import (
	"context"
	"fmt"
	"sync"
)

// pool holds a module's instances. Idle instances wait in a channel; the
// count of live ones (idle, busy, or being created) never exceeds max.
//
// The pool keeps one instance ready ahead of need: whenever a call takes
// the last idle instance, or a broken one is discarded, and the count is
// below max, a background goroutine instantiates a spare. Calls only pay
// for an instantiation themselves when they arrive faster than spares are
// made; once max instances are live, callers wait (bounded by their
// context) for one to come back.
type pool struct {
	idle chan *instance

	mu      sync.Mutex // guards the fields below
	max     int
	live    int
	warming bool
	closed  bool

	// warm owns the spare-making goroutines; ctx ends them, and wakes
	// the callers waiting for an instance, on close.
	warm   sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func newPool(max int) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &pool{idle: make(chan *instance, max), max: max, ctx: ctx, cancel: cancel}
}

// add puts a fresh instance, made outside the pool, into it.
func (p *pool) add(in *instance) {
	p.mu.Lock()
	p.live++
	p.mu.Unlock()
	p.idle <- in
}

// acquire returns an idle instance, instantiates one when fewer than max
// are live, or waits for one until ctx ends.
func (m *Module) acquire(ctx context.Context) (*instance, error) {
	p := m.pool
	for {
		var in *instance
		select {
		case in = <-p.idle:
		default:
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				return nil, ErrClosed
			}
			if p.live < p.max {
				p.live++
				p.mu.Unlock()
				in, err := m.newInstance(ctx)
				if err != nil {
					p.mu.Lock()
					p.live--
					p.mu.Unlock()
					return nil, fmt.Errorf("instantiating: %w", err)
				}
				return in, nil
			}
			p.mu.Unlock()
			select {
			case in = <-p.idle:
			case <-ctx.Done():
				return nil, fmt.Errorf("waiting for one of %d instances: %w", p.max, ctx.Err())
			case <-p.ctx.Done():
				return nil, ErrClosed
			}
		}
		// WithCloseOnContextDone may close an instance just as its call
		// returns successfully; such an instance is replaced.
		if in.mod.IsClosed() {
			m.discard(in)
			continue
		}
		if len(p.idle) == 0 {
			m.warmSpare()
		}
		return in, nil
	}
}

// release gives an instance back after a call; a broken one is discarded
// and replaced.
func (m *Module) release(in *instance) {
	if in.broken {
		m.discard(in)
		if len(m.pool.idle) == 0 {
			m.warmSpare()
		}
		return
	}
	m.putIdle(in)
}

// putIdle makes an instance idle, or closes it when the pool is closed.
// The channel has room for every live instance, so the send never blocks.
func (m *Module) putIdle(in *instance) {
	p := m.pool
	p.mu.Lock()
	if !p.closed {
		p.idle <- in
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	m.discard(in)
}

// discard closes an instance that must not serve again.
func (m *Module) discard(in *instance) {
	in.close()
	m.pool.mu.Lock()
	m.pool.live--
	m.pool.mu.Unlock()
}

// warmSpare starts instantiating a spare in the background, unless one is
// on its way or the pool is full or closed.
func (m *Module) warmSpare() {
	p := m.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.warming || p.live >= p.max {
		return
	}
	p.warming = true
	p.live++
	p.warm.Add(1)
	go func() {
		defer p.warm.Done()
		in, err := m.newInstance(p.ctx)
		p.mu.Lock()
		p.warming = false
		if err != nil {
			p.live--
			p.mu.Unlock()
			if p.ctx.Err() == nil {
				m.log.Warn("instantiating a spare instance failed", "err", err)
			}
			return
		}
		p.mu.Unlock()
		m.putIdle(in)
	}()
}

// stop makes the pool refuse to give or make instances, and wakes the
// callers waiting for one.
func (p *pool) stop() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
}

// closePool stops the pool, waits for the spares on their way and closes
// the idle instances. Busy instances are closed by their calls' release.
func (m *Module) closePool() {
	p := m.pool
	p.stop()
	p.warm.Wait()
	for {
		select {
		case in := <-p.idle:
			m.discard(in)
		default:
			return
		}
	}
}
