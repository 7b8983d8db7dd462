package wasm

import (
	"context"
	"sync"
	"time"
)

// callContext is the context.Context every call into an instance runs
// under: the caller's context, ended also by the call timeout and by a
// forced Module.Close. It belongs to the instance and is reused from call
// to call; once ended it stays ended, and the instance is discarded.
//
// Ending it is how the host stops a guest. The runtime is built
// WithCloseOnContextDone, so wazero watches Done during each call and,
// when it closes, closes the instance the way that is safe while the
// guest runs (without tearing down WASI state under a host function), and
// the guest stops at its next loop or call. Closing the instance from
// another goroutine with api.Module.Close is not safe that way.
//
// Compared with context.WithTimeout per call, it costs no allocation and
// no runtime timer per call: the instance's one timer is re-armed.
type callContext struct {
	// parent and deadline are set by the call's goroutine before the
	// call and read only by it.
	parent   context.Context
	deadline time.Time

	done chan struct{}
	mu   sync.Mutex // guards err
	err  error
}

var _ context.Context = (*callContext)(nil)

func newCallContext() callContext {
	return callContext{parent: context.Background(), done: make(chan struct{})}
}

// Deadline implements context.Context: the call timeout's, or the
// caller's when sooner.
func (c *callContext) Deadline() (time.Time, bool) {
	d := c.deadline
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return d, !d.IsZero()
}

// Done implements context.Context.
func (c *callContext) Done() <-chan struct{} { return c.done }

// Err implements context.Context: context.DeadlineExceeded once the call
// timeout or the caller's deadline passed, context.Canceled once the
// caller cancelled or Close stopped the module.
func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value implements context.Context.
func (c *callContext) Value(key any) any { return c.parent.Value(key) }

// end ends the context with err, unless it has ended already.
func (c *callContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}
