package budget

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	const sec = int64(time.Second)
	type take struct {
		at   int64 // nanoseconds after the bucket was made
		n    int
		want bool
	}
	for _, tc := range []struct {
		name        string
		rate, burst float64
		takes       []take
	}{
		{"burst at once, then refused", 10, 3, []take{{0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, false}}},
		{"refill at the rate", 10, 3, []take{{0, 3, true}, {0, 1, false}, {sec / 10, 1, true}, {sec / 10, 1, false}, {sec / 2, 3, true}}},
		{"never more than the burst after idling", 10, 3, []take{{100 * sec, 3, true}, {100 * sec, 1, false}}},
		{"a refused take takes nothing", 10, 4, []take{{0, 3, true}, {0, 2, false}, {0, 1, true}, {0, 1, false}}},
		{"more than the burst is always refused", 10, 4, []take{{0, 5, false}, {0, 4, true}}},
		{"bytes: burst 1MiB, 256KiB/s", 256 << 10, 1 << 20, []take{{0, 8 << 10, true}, {0, 1<<20 - 8<<10, true}, {0, 1, false}, {sec, 250 << 10, true}, {sec, 32 << 10, false}}},
		{"a third of a unit a second", 1.0 / 3, 3, []take{{0, 3, true}, {0, 1, false}, {3 * sec, 1, true}, {3 * sec, 1, false}}},
		{"rate 0 is unlimited", 0, 0, []take{{0, 1 << 30, true}, {0, 1 << 30, true}}},
		{"zero and negative takes take nothing", 1, 1, []take{{0, 0, true}, {0, -5, true}, {0, 1, true}, {0, 1, false}}},
		{"burst below 1 is 1", 1, 0, []take{{0, 1, true}, {0, 1, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const t0 = int64(1e12)
			b := newBucketAt(tc.rate, tc.burst, t0)
			for i, tk := range tc.takes {
				got := true
				if !b.Unlimited() {
					got = b.take(tk.n, t0+tk.at)
				}
				if got != tk.want {
					t.Fatalf("take %d (%d units at +%v) = %v, want %v", i, tk.n, time.Duration(tk.at), got, tk.want)
				}
			}
		})
	}
}

// TestBucketConcurrent: goroutines taking at once from one bucket get
// exactly its burst, never more.
func TestBucketConcurrent(t *testing.T) {
	const burst, goroutines, each = 1000, 8, 500
	now := clock()
	b := newBucketAt(1, burst, now)
	var got atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if b.take(1, now) {
					got.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got.Load() != burst {
		t.Fatalf("%d takes let through, want %d", got.Load(), burst)
	}
}

func TestNilBucket(t *testing.T) {
	var b *Bucket
	if !b.Take(1<<30) || !b.Unlimited() {
		t.Fatal("a nil bucket must let everything through")
	}
	var z Bucket
	if !z.Take(1<<30) || !z.Unlimited() {
		t.Fatal("a zero bucket must let everything through")
	}
}

// BenchmarkBucketTake is the hot path of a guest log line or host call
// within budget, with every goroutine on one bucket (-cpu 1,2,4).
func BenchmarkBucketTake(b *testing.B) {
	bk := NewBucket(1e12, 1e12)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !bk.Take(100) {
				b.Fatal("refused")
			}
		}
	})
}

// BenchmarkBucketRefuse is the path of a guest over its budget.
func BenchmarkBucketRefuse(b *testing.B) {
	bk := NewBucket(1e-9, 1) // one unit in 31 years
	bk.Take(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bk.Take(1) {
				b.Fatal("let through")
			}
		}
	})
}
