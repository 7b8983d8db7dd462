package budget

import (
	"math"
	"sync/atomic"
	"time"
)

// Bucket is a token bucket: it lets through Rate units a second on
// average and Burst units at once, and refuses what is over. Its methods
// are safe for concurrent use and cost one atomic compare-and-swap, no
// lock and no allocation: many instances on many goroutines share one
// bucket.
//
// It is the generic cell rate algorithm: instead of a count of tokens,
// the bucket keeps the time at which it will be full again (the
// theoretical arrival time, tat). Taking n units moves tat n/Rate
// seconds later; a take that would move tat more than Burst/Rate
// seconds past now is refused, and leaves tat as it was.
//
// The zero value, or a bucket of rate 0, lets everything through.
type Bucket struct {
	// per is the nanoseconds one unit moves tat, rounded up (so that
	// the rate let through is at most the one asked for); 0 means
	// unlimited.
	per int64
	// burst is the most units at once; tau is how far past now tat may
	// be, in nanoseconds: burst units.
	burst, tau int64
	// tat is the theoretical arrival time, in nanoseconds of clock.
	tat atomic.Int64
}

// epoch makes clock monotonic: time.Since reads the monotonic clock.
var epoch = time.Now()

// clock returns monotonic nanoseconds since epoch.
func clock() int64 { return int64(time.Since(epoch)) }

// NewBucket returns a bucket of rate units a second with a burst of
// burst units, full. A rate of 0 lets everything through; burst is at
// least 1.
func NewBucket(rate, burst float64) *Bucket { return newBucketAt(rate, burst, clock()) }

func newBucketAt(rate, burst float64, now int64) *Bucket {
	b := &Bucket{}
	if rate <= 0 {
		return b
	}
	b.per = int64(math.Ceil(1e9 / rate))
	// Keep tau (burst × per) well inside an int64.
	b.burst = int64(math.Min(math.Max(burst, 1), float64(math.MaxInt64/4/b.per)))
	b.tau = b.burst * b.per
	b.tat.Store(now)
	return b
}

// Take takes n units when the bucket holds them and reports whether it
// did; a refused take takes nothing. n greater than the burst is always
// refused.
func (b *Bucket) Take(n int) bool {
	if b == nil || b.per == 0 {
		return true
	}
	return b.take(n, clock())
}

// take is Take at the time now.
func (b *Bucket) take(n int, now int64) bool {
	if n <= 0 {
		return true
	}
	if int64(n) > b.burst {
		return false
	}
	cost := int64(n) * b.per
	for {
		tat := b.tat.Load()
		start := max(tat, now)
		next := start + cost
		if next-now > b.tau {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// Unlimited reports whether the bucket lets everything through.
func (b *Bucket) Unlimited() bool { return b == nil || b.per == 0 }
