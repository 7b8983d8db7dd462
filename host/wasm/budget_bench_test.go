package wasm

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// BenchmarkGuestLog measures a guest's log lines through the host: one
// call of flood's log_small (1,000 lines of 99 bytes through the log
// import) or stdout_small (1,000 lines of 100 bytes to stdout), formatted
// by a text handler into io.Discard; ns/line is the cost of one line.
// RunParallel runs the calls on every CPU (-cpu 1,2) into instances that
// share one tenant budget.
func BenchmarkGuestLog(b *testing.B) {
	for _, tc := range []struct {
		name, export string
		lim          Limits
	}{
		{"log_small", "rpc.log_small", benchLimits()},
		{"stdout_small", "rpc.stdout_small", benchLimits()},
		// A guest over its budget: every line dropped.
		{"log_small_dropped", "rpc.log_small", spentLimits()},
		{"stdout_small_dropped", "rpc.stdout_small", spentLimits()},
	} {
		export := tc.export
		b.Run(tc.name, func(b *testing.B) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			r, err := NewRuntime(context.Background(), Config{Logger: log, CacheDir: testCacheDir, CacheKeyFile: testKeyFile})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close(context.Background()) })
			m := load(b, r, "flood", tc.lim)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Call(context.Background(), export, nil, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/line")
		})
	}
}

// benchLimits are limits whose log budget the benchmark never spends, so
// that every line takes from it and is written. (Before budgets, it was
// Limits{}.)
func benchLimits() Limits {
	cfg := budget.Default()
	cfg.LogRate, cfg.LogBurst = 1<<40, 1<<40
	return Limits{Budget: budget.New("bench", cfg)}
}

// spentLimits are limits whose log budget is spent.
func spentLimits() Limits {
	cfg := budget.Default()
	cfg.LogRate, cfg.LogBurst = 1, 8<<10
	b := budget.New("bench", cfg)
	b.TakeLog(budget.StreamLog, 8<<10)
	return Limits{Budget: b}
}
