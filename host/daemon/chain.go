package daemon

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// A chain is the requests and notifications that descend from one
// request or notification through the calls, casts and notifications of
// guests: a guest serving hop h sends hop h+1, the count travelling in
// each message (rpc.WithHops, notify's WithHops, "_wasmrpcd_hops"). Two
// tenant limits bound a chain, since a guest that calls, casts or
// notifies to itself would otherwise never stop: its depth (max_hops) and
// how many calls and casts one request may make (max_sends_per_request).
// A call's time is bounded too, by its caller's deadline (see
// hostCalls.prepare); docs/RATIONALE.md, "Call chains", says why these
// and not others.

// chainKey is the context key of a request's *chainLink.
type chainKey struct{}

// chainLink is what the host knows of the chain of the request a guest
// serves: its hop count and how many calls and casts the guest made
// while serving it.
type chainLink struct {
	hops  int
	sends atomic.Int64
}

// withChain returns ctx for serving a request of hops hops.
func withChain(ctx context.Context, hops int) context.Context {
	return context.WithValue(ctx, chainKey{}, &chainLink{hops: hops})
}

// linkOf returns the chain link of the request ctx serves; a guest's
// _initialize serves none, and counts as hop 0 of a chain of its own.
func linkOf(ctx context.Context) *chainLink {
	if l, ok := ctx.Value(chainKey{}).(*chainLink); ok {
		return l
	}
	return &chainLink{}
}

// nextNotifyHop returns the hop count of a notification the guest serving
// ctx's request emits, or the exception the guest gets past the tenant's
// max_hops: a handler that notifies the topic it listens to is a chain
// too. Notifications do not count against max_sends_per_request; how
// many a guest emits is a matter of rate, not of a chain's shape.
func nextNotifyHop(ctx context.Context, tenant *config.Tenant) (int, error) {
	hop := linkOf(ctx).hops + 1
	if hop > tenant.MaxHops {
		return 0, &abi.Error{Class: "RecursionError", Module: "builtins",
			Message: fmt.Sprintf("notification chain too long: this notification would be hop %d of its chain, and tenant %s allows %d (max_hops)",
				hop, tenant.Name, tenant.MaxHops)}
	}
	return hop, nil
}

// nextHop counts one call or cast of the guest serving ctx's request and
// returns the hop count it is sent with, or the exception the guest
// gets when the tenant's chain limits refuse it.
func nextHop(ctx context.Context, tenant *config.Tenant) (int, error) {
	l := linkOf(ctx)
	hop := l.hops + 1
	if hop > tenant.MaxHops {
		return 0, &abi.Error{Class: "RecursionError", Module: "builtins",
			Message: fmt.Sprintf("call chain too long: this call or cast would be hop %d of its chain, and tenant %s allows %d (max_hops)",
				hop, tenant.Name, tenant.MaxHops)}
	}
	if n := l.sends.Add(1); n > int64(tenant.MaxSendsPerRequest) {
		return 0, &abi.Error{Class: "RecursionError", Module: "builtins",
			Message: fmt.Sprintf("too many calls and casts for one request: this would be number %d, and tenant %s allows %d (max_sends_per_request)",
				n, tenant.Name, tenant.MaxSendsPerRequest)}
	}
	return hop, nil
}
