// Package bench is a closed-loop load generator: a number of workers each
// run one request after another, for a number of requests or a time, and
// the run reports its rate and latency percentiles. `wasmrpcd bench`
// drives RPC calls and casts with it.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Op runs one request; an error counts the request as failed.
type Op func(ctx context.Context) error

// Config is one run. A run stops after Requests requests or, when
// Requests is 0, after Duration.
type Config struct {
	// Concurrency is the number of workers, each with one request in
	// flight; 0 means 1.
	Concurrency int
	// Requests is the number of requests over all workers; 0 means as
	// many as fit in Duration.
	Requests int
	// Duration bounds a run of Requests 0: no worker starts a request
	// after it; the requests in flight finish and count.
	Duration time.Duration
	// Progress, when set, is called about every ProgressInterval (0 means
	// 1 s) while the run lasts, from a goroutine of Run.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Progress is a run's state so far.
type Progress struct {
	Done    int           // requests that succeeded
	Errors  int           // requests that failed
	Elapsed time.Duration // since the run started
	Rate    float64       // successful requests per second since the previous Progress
}

// Report is a finished run.
type Report struct {
	Concurrency int
	// Requests succeeded; Errors failed, the first with FirstError.
	Requests   int
	Errors     int
	FirstError error
	// Elapsed is from the start to the end of the last request.
	Elapsed time.Duration
	// Latencies of the successful requests, by nearest rank.
	P50, P90, P99, Max time.Duration
}

// Rate returns the successful requests per second.
func (r *Report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Line returns the report as `wasmrpcd bench` prints it:
//
//	calls=K seconds=S rate=R/s p50_ms=X p99_ms=Y
func (r *Report) Line() string {
	return fmt.Sprintf("calls=%d seconds=%.3f rate=%.1f/s p50_ms=%.3f p99_ms=%.3f",
		r.Requests, r.Elapsed.Seconds(), r.Rate(), ms(r.P50), ms(r.P99))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ErrConfig is wrapped by the errors of a Config that describes no run.
var ErrConfig = errors.New("bench: invalid run")

// Run runs op as cfg says and reports. It returns early, with ctx's error
// and the report so far, when ctx ends; op gets ctx.
func Run(ctx context.Context, cfg Config, op Op) (Report, error) {
	workers := max(cfg.Concurrency, 1)
	switch {
	case cfg.Requests < 0 || cfg.Duration < 0:
		return Report{}, fmt.Errorf("%w: negative requests or duration", ErrConfig)
	case cfg.Requests == 0 && cfg.Duration == 0:
		return Report{}, fmt.Errorf("%w: neither requests nor a duration", ErrConfig)
	}
	var (
		tickets  atomic.Int64 // requests taken
		done     atomic.Int64
		failed   atomic.Int64
		stop     atomic.Bool // no new requests
		firstErr error
		errOnce  sync.Once
	)
	start := time.Now()
	if cfg.Requests == 0 {
		t := time.AfterFunc(cfg.Duration, func() { stop.Store(true) })
		defer t.Stop()
	}
	take := func() bool {
		if stop.Load() || ctx.Err() != nil {
			return false
		}
		return cfg.Requests == 0 || tickets.Add(1) <= int64(cfg.Requests)
	}

	latencies := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var lat []time.Duration
			if cfg.Requests > 0 {
				lat = make([]time.Duration, 0, cfg.Requests/workers+1)
			}
			for take() {
				t0 := time.Now()
				err := op(ctx)
				d := time.Since(t0)
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				lat = append(lat, d)
				done.Add(1)
			}
			latencies[w] = lat
		})
	}

	finished := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		interval := cfg.ProgressInterval
		if interval <= 0 {
			interval = time.Second
		}
		progress.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			last, lastAt := int64(0), start
			for {
				select {
				case <-finished:
					return
				case now := <-tick.C:
					n := done.Load()
					cfg.Progress(Progress{
						Done: int(n), Errors: int(failed.Load()), Elapsed: now.Sub(start),
						Rate: float64(n-last) / now.Sub(lastAt).Seconds(),
					})
					last, lastAt = n, now
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(finished)
	progress.Wait()

	all := slices.Concat(latencies...)
	slices.Sort(all)
	r := Report{
		Concurrency: workers,
		Requests:    len(all),
		Errors:      int(failed.Load()),
		FirstError:  firstErr,
		Elapsed:     elapsed,
		P50:         Percentile(all, 0.50),
		P90:         Percentile(all, 0.90),
		P99:         Percentile(all, 0.99),
	}
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	return r, ctx.Err()
}

// Percentile returns the p-quantile (0 < p ≤ 1) of sorted by nearest
// rank: the smallest value at least p of the values do not exceed; 0 for
// none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
