package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/tests/bench/internal/benchkit"
)

// meter runs the phases.
type meter struct {
	cfg      *config
	d        *benchkit.Daemon
	good     *rpc.Client
	tr       transport.Transport
	exchange string
	prefix   string
}

// result is one phase's figures.
type result struct {
	goodCalls    int
	p50, p99     time.Duration
	attackCalls  map[string]int // by outcome: "ok" or the remote error's class
	peakRSS      int64
	logBytes     int64
	attackerWait time.Duration // longest attack call
}

// phase runs the good load for the phase's length, with a's attackers
// alongside when a is not nil.
func (m *meter) phase(a *attack) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.phase)
	defer cancel()
	r := &result{attackCalls: map[string]int{}}
	logBefore := m.d.LogBytes()
	var (
		mu       sync.Mutex
		firstErr error
		took     []time.Duration
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	args := map[string]any{"value": strings.Repeat("x", 100)}
	for range m.cfg.callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				start := time.Now()
				_, err := m.good.Call(context.Background(), "echo", args)
				if err != nil {
					fail(fmt.Errorf("a well-behaved call failed: %w", err))
					return
				}
				mine = append(mine, time.Since(start))
				time.Sleep(m.cfg.pause)
			}
			mu.Lock()
			took = append(took, mine...)
			mu.Unlock()
		}()
	}
	if a != nil {
		hostile := rpc.NewClient(m.tr, rpc.Target{Topic: m.prefix + "_" + a.module}, rpc.WithTimeout(60*time.Second))
		defer hostile.Close()
		for range m.cfg.attackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					start := time.Now()
					_, err := hostile.Call(context.Background(), a.method, a.args)
					outcome := "ok"
					var re *rpc.RemoteError
					switch {
					case errors.As(err, &re):
						outcome = re.Class
					case err != nil:
						fail(fmt.Errorf("attack call: %w", err))
						return
					}
					mu.Lock()
					r.attackCalls[outcome]++
					r.attackerWait = max(r.attackerWait, time.Since(start))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.d.Exited():
				fail(errors.New("the daemon exited"))
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if now, _, err := m.d.RSS(); err == nil {
					mu.Lock()
					r.peakRSS = max(r.peakRSS, now)
					mu.Unlock()
				}
			}
		}
	}()
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(took)
	r.goodCalls = len(took)
	r.p50, r.p99 = benchkit.Quantile(took, 0.5), benchkit.Quantile(took, 0.99)
	r.logBytes = m.d.LogBytes() - logBefore
	return r, nil
}

func (r *result) print(phase string, steadyP99 time.Duration) {
	var outcomes []string
	for _, k := range slices.Sorted(maps.Keys(r.attackCalls)) {
		outcomes = append(outcomes, fmt.Sprintf("%s=%d", k, r.attackCalls[k]))
	}
	attack := "-"
	if len(outcomes) > 0 {
		attack = strings.Join(outcomes, " ") + " longest=" + benchkit.Ms(r.attackerWait)
	}
	fmt.Printf("%-14s good calls=%d p50=%s p99=%s p99/steady=%.2f | attack %s | rss max=%.0fMiB log=%dB\n",
		phase, r.goodCalls, benchkit.Ms(r.p50), benchkit.Ms(r.p99), float64(r.p99)/float64(steadyP99),
		attack, float64(r.peakRSS)/(1<<20), r.logBytes)
}
