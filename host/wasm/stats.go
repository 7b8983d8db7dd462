package wasm

import "context"

// Instances returns how many instances the module has: idle, busy or being
// made.
func (m *Module) Instances() int {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return m.pool.live
}

// Warm instantiates instances until the module has n (at most its
// MaxInstances), so that as many concurrent calls find one ready: what a
// swap does before the new version takes the old one's traffic.
func (m *Module) Warm(ctx context.Context, n int) error {
	p := m.pool
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if p.live >= min(n, p.max) {
			p.mu.Unlock()
			return nil
		}
		p.live++
		p.mu.Unlock()
		in, err := m.newInstance(ctx)
		if err != nil {
			p.mu.Lock()
			p.live--
			p.mu.Unlock()
			return err
		}
		m.putIdle(in)
	}
}
