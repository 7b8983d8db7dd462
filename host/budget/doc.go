// Package budget holds the per-tenant budgets of what a guest can make
// the host do at the guest's will, beyond the memory and time of its own
// calls: write log lines (the wasmrpc.log import, WASI stdout and
// stderr), make host calls (wasmrpc.call, cast, notify) and emit
// notifications.
//
// A [Tenant] is shared by every instance of every module of one tenant,
// so that a tenant's budget is the same whatever the number of its
// modules and instances. Each budget is a [Bucket] (a rate and a burst);
// the hot path, a log line or a host call within budget, costs one
// atomic compare-and-swap and allocates nothing.
//
// What is over budget is either refused, and the guest gets an
// exception (host calls, notifications, an oversized notification
// payload), or dropped, and only counted (log lines: a guest cannot be
// told, and must not be able to make the host log that it dropped
// them, line by line). [Tenant.Counts] gives the counts, for metrics and
// for a summary line logged once per interval.
package budget
