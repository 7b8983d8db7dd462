package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPercentile(t *testing.T) {
	ds := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", ds(7), 0.99, 7},
		{"median of odd", ds(1, 2, 3), 0.5, 2},
		{"median of even is the lower", ds(1, 2, 3, 4), 0.5, 2},
		{"p99 of 100", ds(hundred...), 0.99, 99},
		{"p50 of 100", ds(hundred...), 0.50, 50},
		{"max", ds(hundred...), 1, 100},
		{"tiny p is the min", ds(5, 6), 0.0001, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestRunCounts(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name                  string
		cfg                   Config
		failEvery             int64 // 0: never
		wantRequests, wantErr int
	}{
		{"one worker", Config{Requests: 10}, 0, 10, 0},
		{"more workers than requests", Config{Concurrency: 8, Requests: 3}, 0, 3, 0},
		{"uneven split", Config{Concurrency: 3, Requests: 100}, 0, 100, 0},
		{"errors", Config{Concurrency: 4, Requests: 40}, 4, 30, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n, running, peak atomic.Int64
			op := func(context.Context) error {
				i := n.Add(1)
				r := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
				}
				if tc.failEvery > 0 && i%tc.failEvery == 0 {
					return boom
				}
				return nil
			}
			r, err := Run(context.Background(), tc.cfg, op)
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != tc.wantRequests || r.Errors != tc.wantErr || int(n.Load()) != tc.wantRequests+tc.wantErr {
				t.Fatalf("report %+v after %d ops, want %d ok and %d errors", r, n.Load(), tc.wantRequests, tc.wantErr)
			}
			if tc.wantErr > 0 && !errors.Is(r.FirstError, boom) {
				t.Fatalf("first error %v", r.FirstError)
			}
			if p := peak.Load(); p > int64(max(tc.cfg.Concurrency, 1)) {
				t.Fatalf("%d requests in flight at once with concurrency %d", p, tc.cfg.Concurrency)
			}
			if !(r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
				t.Fatalf("percentiles out of order: %+v", r)
			}
		})
	}
}

func TestRunConcurrency(t *testing.T) {
	// Every worker holds its request until all are in flight: the run
	// completes only if Concurrency requests run at once.
	const workers = 16
	var arrived sync.WaitGroup
	arrived.Add(workers)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var first atomic.Int64
	op := func(context.Context) error {
		if first.Add(1) <= workers {
			arrived.Done()
		}
		<-all
		return nil
	}
	r, err := Run(context.Background(), Config{Concurrency: workers, Requests: workers * 3}, op)
	if err != nil || r.Requests != workers*3 {
		t.Fatalf("Run = %+v, %v", r, err)
	}
}

func TestRunDuration(t *testing.T) {
	r, err := Run(context.Background(), Config{Concurrency: 2, Duration: 50 * time.Millisecond}, func(context.Context) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil || r.Requests == 0 || r.Elapsed < 50*time.Millisecond {
		t.Fatalf("Run = %+v, %v", r, err)
	}
}

func TestRunProgress(t *testing.T) {
	// The requests wait for the first progress report.
	reported := make(chan struct{})
	var once sync.Once
	var got Progress
	cfg := Config{
		Concurrency:      2,
		Requests:         4,
		ProgressInterval: time.Millisecond,
		Progress: func(p Progress) {
			once.Do(func() {
				got = p
				close(reported)
			})
		},
	}
	r, err := Run(context.Background(), cfg, func(context.Context) error {
		<-reported
		return nil
	})
	if err != nil || r.Requests != 4 {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	if got.Done != 0 || got.Elapsed <= 0 {
		t.Fatalf("first progress %+v", got)
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	r, err := Run(ctx, Config{Concurrency: 4, Duration: time.Hour}, func(ctx context.Context) error {
		if n.Add(1) == 100 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || r.Requests < 100 {
		t.Fatalf("Run = %+v, %v", r, err)
	}
}

func TestRunConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Requests: -1}, {Duration: -time.Second}} {
		if _, err := Run(context.Background(), cfg, func(context.Context) error { return nil }); !errors.Is(err, ErrConfig) {
			t.Errorf("Run(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestReportLine(t *testing.T) {
	r := Report{Requests: 1000, Elapsed: 2 * time.Second, P50: 1500 * time.Microsecond, P99: 12 * time.Millisecond}
	if got, want := r.Line(), "calls=1000 seconds=2.000 rate=500.0/s p50_ms=1.500 p99_ms=12.000"; got != want {
		t.Fatalf("Line() = %q, want %q", got, want)
	}
}
