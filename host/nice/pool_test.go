package nice

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestPoolRunsOnNicerThreads(t *testing.T) {
	base, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		nice, want int
	}{
		{"no change", 0, base},
		{"ten nicer", 10, min(base+10, 19)},
		{"capped at 19", 40, 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(tc.nice, 2)
			defer p.Close()
			var got int
			var gerr error
			p.Run(func() { got, gerr = threadNice() })
			if gerr != nil {
				t.Fatal(gerr)
			}
			if runtime.GOOS == "linux" && got != tc.want {
				t.Errorf("nice on the pool's thread = %d, want %d", got, tc.want)
			}
			if after, _ := threadNice(); after != base {
				t.Errorf("the caller's thread went from nice %d to %d", base, after)
			}
		})
	}
}

// TestPoolBoundsThreads runs more functions at once than the pool has
// threads: each runs, and never more than Max at once.
func TestPoolBoundsThreads(t *testing.T) {
	const threads, calls = 3, 40
	p := NewPool(1, threads)
	defer p.Close()
	var running, most, ran atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				ran.Add(1)
			})
		}()
	}
	for most.Load() < threads {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if ran.Load() != calls {
		t.Errorf("%d functions ran, want %d", ran.Load(), calls)
	}
	if most.Load() != threads {
		t.Errorf("at most %d ran at once, want %d (the pool's threads)", most.Load(), threads)
	}
	p.mu.Lock()
	started := p.threads
	p.mu.Unlock()
	if started != threads {
		t.Errorf("%d threads started, want %d", started, threads)
	}
}

func TestPoolAfterClose(t *testing.T) {
	p := NewPool(5, 1)
	p.Run(func() {})
	p.Close()
	p.Close() // twice is fine
	ran := false
	p.Run(func() { ran = true })
	if !ran {
		t.Error("Run after Close did not run its function")
	}
}
