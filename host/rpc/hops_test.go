package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// TestClientHops: the hop count a client sends is the one the server's
// handler sees, for calls and casts; a client without one sends none.
func TestClientHops(t *testing.T) {
	seen := make(chan int, 4)
	ep := Endpoint{Methods: []string{"hops"}, Handler: HandlerFunc(func(ctx context.Context, req *Request) ([]byte, error) {
		seen <- req.Hops
		return cborcodec.Marshal(req.Hops)
	})}
	r := newRig(t, ServerOptions{}, ep)
	c := NewClient(r.caller, Target{Topic: r.target.Topic}, WithTimeout(time.Minute))
	defer c.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    *Client
		cast bool
		want int
	}{
		{"call", c.Prepare(WithHops(2)), false, 2},
		{"cast", c.Prepare(WithHops(5)), true, 5},
		{"none", c, false, 0},
		{"negative", c.Prepare(WithHops(-3)), true, 0},
	} {
		var err error
		if tc.cast {
			err = tc.c.Cast(ctx, "hops", nil)
		} else {
			_, err = tc.c.Call(ctx, "hops", nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := <-seen; got != tc.want {
			t.Errorf("%s: the server saw %d hops, want %d", tc.name, got, tc.want)
		}
	}
}
