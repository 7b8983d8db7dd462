package daemon

import (
	"context"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
)

// chain takes the slots of several limiters in order and gives them back
// in reverse: a module's server and listener take their tenant's slot,
// then an executor slot, so that a call waiting for its busy tenant holds
// no executor another tenant could use.
type chain []rpc.Limiter

var _ rpc.Limiter = chain(nil)

func (c chain) Acquire(ctx context.Context) error {
	for i, l := range c {
		if err := l.Acquire(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				c[j].Release()
			}
			return err
		}
	}
	return nil
}

func (c chain) Release() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i].Release()
	}
}
