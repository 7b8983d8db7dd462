// Command swap measures hot swaps of a module served by the wasmrpcd
// binary, for docs/BENCHMARKS.md ("Hot swap"):
//
//   - swap time: from the rename that replaces the module file to the
//     first call served by the new version (a call asking for 1.6 that
//     succeeds after a swap to testkit 1.6, or gets UnsupportedVersion
//     after a swap back to 1.5), with an uncached compile (a file no
//     cache_dir has seen) and a cached one (a new daemon process whose
//     cache_dir holds the file's compiled form). The prober waits
//     -probe-interval (2 ms) between its calls, so that its own load
//     leaves the machine to the swap; the swap times under the load of
//     the latency phases are printed too;
//   - echo latency under steady load, without swaps and while swapping
//     without pause, as p50 and p99.
//
// Every file swapped in is testkit 1.5 or 1.6 with a custom section of
// random bytes appended, so that each is new to the compilation cache
// until the cached pass. The calls come from the project's Go
// oslo.messaging client (host/rpc) through RabbitMQ at AMQP_URL.
//
//	go run ./tests/bench/swap -bin bin/wasmrpcd
//
// It prints one line per figure and deletes the queues and exchanges it
// declared.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/tests/bench/internal/benchkit"
)

func main() {
	bin := flag.String("bin", "bin/wasmrpcd", "the wasmrpcd `binary`")
	v15 := flag.String("v15", "modules/testkit/testkit.wasm", "testkit at version 1.5")
	v16 := flag.String("v16", "modules/testkit/testkit-v1.6.wasm", "testkit at version 1.6")
	swaps := flag.Int("swaps", 6, "swaps timed per pass")
	callers := flag.Int("callers", 4, "callers of the steady load, each with one call in flight")
	loadFor := flag.Duration("load", 15*time.Second, "duration of each latency phase")
	probeEvery := flag.Duration("probe-interval", 2*time.Millisecond, "pause between the calls that wait for a new version (0: none)")
	flag.Parse()
	if *swaps < 2 {
		fmt.Fprintln(os.Stderr, "bench swap: -swaps must be at least 2")
		os.Exit(2)
	}
	url := os.Getenv("AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	b := &bench{probeEvery: *probeEvery, bin: *bin, url: "rabbit" + strings.TrimPrefix(strings.TrimPrefix(url, "amqps"), "amqp"), amqpURL: url}
	err := b.run(*v15, *v16, *swaps, *callers, *loadFor)
	if cerr := b.cleanup(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench swap:", err)
		os.Exit(1)
	}
}

// bench is one run: its broker names, files and client.
type bench struct {
	bin, url, amqpURL string
	probeEvery        time.Duration // between the calls of waitVersion
	dir               string        // temporary files
	exchange, topic   string
	tr                transport.Transport
	client            *rpc.Client
	replyQueues       []string

	mu      sync.Mutex
	windows []window // of the swaps of the latency phases
}

const server = "bench"

func (b *bench) run(v15Path, v16Path string, swaps, callers int, loadFor time.Duration) error {
	v15, err := os.ReadFile(v15Path)
	if err != nil {
		return err
	}
	v16, err := os.ReadFile(v16Path)
	if err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "wasmrpcd-bench-swap-"); err != nil {
		return err
	}
	var nonce [5]byte
	_, _ = rand.Read(nonce[:])
	b.exchange = "bench_swap_" + hex.EncodeToString(nonce[:]) + "_x"
	b.topic = "bench_swap_" + hex.EncodeToString(nonce[:])
	ctx := context.Background()
	if b.tr, err = transport.Open(ctx, b.url, transport.Options{ControlExchange: b.exchange, ConnectionName: "wasmrpcd-bench-swap"}); err != nil {
		return err
	}
	b.client = rpc.NewClient(b.tr, rpc.Target{Topic: b.topic}, rpc.WithTimeout(30*time.Second))

	// The files of the timed swaps: new to any cache, alternating 1.6 and
	// 1.5 (the first swap of a pass goes to 1.6).
	files := make([][]byte, swaps)
	for i := range files {
		files[i] = withNonce(v15)
		if i%2 == 0 {
			files[i] = withNonce(v16)
		}
	}
	cache := filepath.Join(b.dir, "cache")
	modFile := filepath.Join(b.dir, "testkit.wasm")

	// Uncached: a daemon whose cache holds only the first file.
	if err := place(withNonce(v15), modFile); err != nil {
		return err
	}
	d, err := b.start(cache, modFile)
	if err != nil {
		return err
	}
	uncached, err := b.timeSwaps(d, modFile, files)
	uncachedTook := d.swapTook()
	d.stop()
	if err != nil {
		return fmt.Errorf("uncached swaps: %w", err)
	}
	// Cached: a new process on the same cache, which holds every file now.
	if err := place(withNonce(v15), modFile); err != nil {
		return err
	}
	if d, err = b.start(cache, modFile); err != nil {
		return err
	}
	defer d.stop()
	cached, err := b.timeSwaps(d, modFile, files)
	if err != nil {
		return fmt.Errorf("cached swaps: %w", err)
	}
	fmt.Printf("swap, uncached compile: median %s, min %s, max %s (%d swaps)\n", benchkit.Ms(benchkit.Median(uncached)), benchkit.Ms(minOf(uncached)), benchkit.Ms(maxOf(uncached)), len(uncached))
	fmt.Printf("swap, cached compile:   median %s, min %s, max %s (%d swaps)\n", benchkit.Ms(benchkit.Median(cached)), benchkit.Ms(minOf(cached)), benchkit.Ms(maxOf(cached)), len(cached))

	fmt.Printf("  of which the daemon's own load and swap (its log's \"took\"): uncached median %s, cached median %s\n",
		benchkit.Ms(benchkit.Median(uncachedTook)), benchkit.Ms(benchkit.Median(d.swapTook())))

	// Latency: steady, then while swapping without pause, cached and
	// uncached.
	steady, err := b.load(d, callers, loadFor, nil)
	if err != nil {
		return fmt.Errorf("steady load: %w", err)
	}
	report("steady", latencies(steady))
	cur := len(files) - 1 // the file served now
	swapCached := func() ([]byte, error) { cur = (cur + 1) % len(files); return files[cur], nil }
	during, err := b.load(d, callers, loadFor, func() error { return b.swapAndWait(d, modFile, swapCached) })
	if err != nil {
		return fmt.Errorf("load during cached swaps: %w", err)
	}
	report("cached swaps, whole phase", latencies(during))
	report("cached swaps, calls during a swap", b.inSwap(during))
	cachedUnderLoad := b.swapTimes()
	b.windows = nil
	n := 0
	swapUncached := func() ([]byte, error) {
		n++
		if n%2 == 1 {
			return withNonce(v16), nil
		}
		return withNonce(v15), nil
	}
	duringU, err := b.load(d, callers, loadFor, func() error { return b.swapAndWait(d, modFile, swapUncached) })
	if err != nil {
		return fmt.Errorf("load during uncached swaps: %w", err)
	}
	report("uncached swaps, whole phase", latencies(duringU))
	report("uncached swaps, calls during a swap", b.inSwap(duringU))
	uncachedUnderLoad := b.swapTimes()
	fmt.Printf("swap under the load of %d callers (rename to the admin API reporting it): uncached median %s (%d swaps), cached median %s (%d swaps)\n",
		callers, benchkit.Ms(benchkit.Median(uncachedUnderLoad)), len(uncachedUnderLoad), benchkit.Ms(benchkit.Median(cachedUnderLoad)), len(cachedUnderLoad))
	return nil
}

// timeSwaps places each file in turn and returns, for each, the time
// from the rename to the first call served by the new version.
func (b *bench) timeSwaps(d *daemon, modFile string, files [][]byte) ([]time.Duration, error) {
	var out []time.Duration
	for i, data := range files {
		want16 := i%2 == 0
		start := time.Now()
		if err := place(data, modFile); err != nil {
			return nil, err
		}
		if err := b.waitVersion(want16, time.Minute); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
		if err := d.waitSwaps(i + 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitVersion calls echo asking for 1.6 until the answer says that 1.6 is
// served (want16) or that it is not.
func (b *bench) waitVersion(want16 bool, limit time.Duration) error {
	c := b.client.Prepare(rpc.WithVersion("1.6"), rpc.WithTimeout(30*time.Second))
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		_, err := c.Call(context.Background(), "echo", map[string]any{"value": "probe"})
		var re *rpc.RemoteError
		switch {
		case err == nil && want16:
			return nil
		case errors.As(err, &re) && re.Class == "UnsupportedVersion":
			if !want16 {
				return nil
			}
		case err != nil:
			return fmt.Errorf("probe: %w", err)
		}
		time.Sleep(b.probeEvery)
	}
	return fmt.Errorf("the new version was not served within %v", limit)
}

// swapAndWait places the next file, waits until the daemon has swapped
// it in and records the swap's window, then lets calls run on it for a
// second.
func (b *bench) swapAndWait(d *daemon, modFile string, next func() ([]byte, error)) error {
	data, err := next()
	if err != nil {
		return err
	}
	before, err := d.swapCount()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := place(data, modFile); err != nil {
		return err
	}
	if err := d.waitSwaps(before + 1); err != nil {
		return err
	}
	b.mu.Lock()
	b.windows = append(b.windows, window{start, time.Now().Add(afterSwap)})
	b.mu.Unlock()
	time.Sleep(time.Second)
	return nil
}

// swapTimes returns, for each swap of the windows, the time from its
// rename to the admin API reporting it done.
func (b *bench) swapTimes() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []time.Duration
	for _, w := range b.windows {
		out = append(out, w.to.Add(-afterSwap).Sub(w.from))
	}
	return out
}

// afterSwap is how long after a swap calls still count as during it: the
// new version's first calls and instances.
const afterSwap = 300 * time.Millisecond

// window is the time from a rename to afterSwap past the swap the admin
// API reports.
type window struct{ from, to time.Time }

// sample is one call of the load.
type sample struct {
	at   time.Time
	took time.Duration
}

// inSwap returns the latencies of the calls that overlapped a swap
// window: from the rename to afterSwap past the swap.
func (b *bench) inSwap(samples []sample) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []time.Duration
	for _, s := range samples {
		end := s.at.Add(s.took)
		for _, w := range b.windows {
			if s.at.Before(w.to) && end.After(w.from) {
				out = append(out, s.took)
				break
			}
		}
	}
	return out
}

func latencies(samples []sample) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = s.took
	}
	return out
}

// load runs callers calling echo without pause for length, and swap in a
// loop alongside when it is not nil. It returns the latencies; a failed
// call fails the run.
func (b *bench) load(d *daemon, callers int, length time.Duration, swap func() error) ([]sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), length)
	defer cancel()
	var mu sync.Mutex
	var samples []sample
	var firstErr error
	var wg sync.WaitGroup
	args := map[string]any{"value": strings.Repeat("x", 100)}
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for ctx.Err() == nil {
				start := time.Now()
				_, err := b.client.Call(context.Background(), "echo", args)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, sample{start, time.Since(start)})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	if swap != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := swap(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return samples, firstErr
}

func report(phase string, samples []time.Duration) {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	fmt.Printf("echo latency, %s: calls=%d p50=%s p99=%s max=%s\n", phase, len(samples),
		benchkit.Ms(benchkit.Quantile(samples, 0.50)), benchkit.Ms(benchkit.Quantile(samples, 0.99)), benchkit.Ms(samples[len(samples)-1]))
}

// cleanup stops the client and deletes what the run declared.
func (b *bench) cleanup() error {
	if b.client != nil {
		if q := b.client.ReplyQueue(); q != "" {
			b.replyQueues = append(b.replyQueues, q)
		}
		b.client.Close()
	}
	if b.tr != nil {
		b.tr.Close()
	}
	var err error
	if b.topic != "" {
		queues := append([]string{b.topic, b.topic + "." + server}, b.replyQueues...)
		err = benchkit.DeleteTopology(b.amqpURL, queues, []string{b.exchange, b.topic + "_fanout"})
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
	return err
}
