package wasm

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// floodLine is the length of one line of flood's *_flood methods.
const floodLine = 8191

// tinyRate is a rate a test never sees refill: a line of floodLine
// bytes, or a second host call, would take hours.
const tinyRate = 1

// TestLogBudget floods the host with log lines through each stream: the
// lines written are exactly those the burst holds, the rest are dropped
// and counted, whatever the number of the tenant's modules.
func TestLogBudget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		export    string
		cfg       func(*budget.Config)
		stream    budget.Stream
		level     string // of the lines written
		kept      int    // lines written
		reason    budget.Drop
		dropLines int
		dropBytes int
	}{
		{"log import over the rate", "rpc.log_flood", func(c *budget.Config) { c.LogRate, c.LogBurst = tinyRate, 64<<10 },
			budget.StreamLog, "ERROR", 8, budget.DropRate, 20000 - 8, (20000 - 8) * floodLine},
		{"stdout over the rate", "rpc.stdout_flood", func(c *budget.Config) { c.LogRate, c.LogBurst = tinyRate, 64<<10 },
			budget.StreamStdout, "INFO", 8, budget.DropRate, 20000 - 8, (20000 - 8) * floodLine},
		{"log import capped at warn", "rpc.log_flood", func(c *budget.Config) {
			c.LogRate, c.LogBurst, c.LogMaxLevel = tinyRate, 3*floodLine, slog.LevelWarn
		}, budget.StreamLog, "WARN", 3, budget.DropRate, 20000 - 3, (20000 - 3) * floodLine},
		{"info lines below the tenant's level", "rpc.log_small", func(c *budget.Config) { c.LogLevel = slog.LevelWarn },
			budget.StreamLog, "", 0, budget.DropLevel, 1000, 1000 * 99},
		{"stdout below the tenant's level", "rpc.stdout_small", func(c *budget.Config) { c.LogLevel = slog.LevelError },
			budget.StreamStdout, "", 0, budget.DropLevel, 1000, 1000 * 99},
		{"no limit", "rpc.log_small", func(c *budget.Config) { c.LogRate = 0 },
			budget.StreamLog, "INFO", 1000, budget.DropRate, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := budget.Default()
			tc.cfg(&cfg)
			b := budget.New("acme", cfg)
			r, rec := newRuntime(t, Config{})
			for _, name := range []string{"one", "two"} {
				m, err := r.Load(context.Background(), name, readWasm(t, "flood"), Limits{Budget: b})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Call(context.Background(), tc.export, nil, nil); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			kept := 0
			for _, r := range rec.snapshot() {
				if r.Attrs["stream"] != tc.stream.String() {
					continue
				}
				kept++
				if r.Level.String() != tc.level {
					t.Errorf("line at %v, want %s", r.Level, tc.level)
				}
			}
			// The second module shares the first's budget: it writes what
			// the first left, which is nothing once it is spent.
			c := b.Counts()
			wantLines, wantBytes := tc.dropLines, tc.dropBytes
			if tc.dropLines > 0 {
				perCall := 20000
				if tc.reason == budget.DropLevel {
					perCall = 1000
				}
				wantLines += perCall
				wantBytes += perCall * (tc.dropBytes / tc.dropLines)
			} else if tc.kept > 0 {
				tc.kept *= 2 // no limit: both write every line
			}
			if kept != tc.kept {
				t.Errorf("%d lines written, want %d", kept, tc.kept)
			}
			if got := c.DroppedLines[tc.stream][tc.reason]; got != uint64(wantLines) {
				t.Errorf("%d lines counted dropped (%v), want %d", got, tc.reason, wantLines)
			}
			if got := c.DroppedBytes[tc.stream][tc.reason]; got != uint64(wantBytes) {
				t.Errorf("%d bytes counted dropped (%v), want %d", got, tc.reason, wantBytes)
			}
		})
	}
}

// TestHostCallBudget: a guest that notifies or casts in a loop gets a
// RateLimitExceeded exception once the burst is spent (of host calls,
// notifications or bytes sent), and the host sees exactly the burst; an
// oversized payload or message is refused before the host sees it.
func TestHostCallBudget(t *testing.T) {
	notification := func(payload any) []byte {
		return enc(t, map[string]any{"priority": "info", "publisher_id": "flood", "event_type": "flood.x", "payload": payload})
	}
	cast := enc(t, map[string]any{"target": map[string]any{"topic": "t"}, "method": "m"})
	for _, tc := range []struct {
		name     string
		cfg      budget.Config
		export   string
		args     []byte
		reached  int // host calls the host saw
		class    string
		message  string
		refusals [5]uint64
	}{
		{"notify over the notification rate", budget.Config{NotificationRate: tinyRate, NotificationBurst: 5},
			"rpc.notify_flood", notification("x"), 5, budget.ErrorClass,
			"tenant acme has emitted more notifications than its budget of 1 a second (burst 5)", [5]uint64{0, 1, 0}},
		{"notify over the host call rate", budget.Config{HostCallRate: tinyRate, HostCallBurst: 3},
			"rpc.notify_flood", notification("x"), 3, budget.ErrorClass,
			"tenant acme has made more host calls than its budget of 1 a second (burst 3)", [5]uint64{1, 0, 0}},
		{"cast over the host call rate", budget.Config{HostCallRate: tinyRate, HostCallBurst: 7},
			"rpc.cast_flood", cast, 7, budget.ErrorClass,
			"tenant acme has made more host calls than its budget of 1 a second (burst 7)", [5]uint64{1, 0, 0}},
		{"payload over max_notification_size", budget.Config{MaxNotificationSize: 1000},
			"rpc.notify_flood", notification(strings.Repeat("x", 1000)), 0, "ValueError",
			"notification payload of 1003 bytes exceeds tenant acme's max_notification_size of 1000 bytes", [5]uint64{0, 0, 1}},
		{"notify over the publish rate", budget.Config{PublishRate: tinyRate, PublishBurst: 5000},
			"rpc.notify_flood", notification(strings.Repeat("x", 1000)), 4, budget.ErrorClass,
			"tenant acme has sent the broker more than its budget of 1 bytes a second (burst 5000); this message of 1003 bytes is refused", [5]uint64{0, 0, 0, 1, 0}},
		{"cast larger than the publish burst", budget.Config{PublishRate: tinyRate, PublishBurst: 10},
			"rpc.cast_flood", cast, 0, "ValueError",
			"a message of ", [5]uint64{0, 0, 0, 0, 1}},
		{"within the budgets", budget.Config{HostCallRate: 1e6, HostCallBurst: 1e6, NotificationRate: 1e6, NotificationBurst: 1e6, MaxNotificationSize: 1003},
			"rpc.notify_flood", notification(strings.Repeat("x", 1000)), 20000, "", "", [5]uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := &hostFuncs{
				cast:   func(context.Context, Caller, *abi.CallRequest) error { return nil },
				notify: func(context.Context, Caller, *abi.Notification) error { return nil },
			}
			r, _ := newRuntime(t, Config{Host: host})
			b := budget.New("acme", tc.cfg)
			m := load(t, r, "flood", Limits{Budget: b})
			value, err := m.Call(context.Background(), tc.export, nil, tc.args)
			var e *abi.Error
			switch {
			case tc.class == "" && err != nil:
				t.Fatalf("call failed: %v", err)
			case tc.class == "":
				var n int
				if err := cborcodec.Unmarshal(value, &n); err != nil || n != 20000 {
					t.Errorf("value %x, want 20000", value)
				}
			case !errors.As(err, &e) || e.Class != tc.class || !strings.HasPrefix(e.Message, tc.message):
				t.Fatalf("error %v; want %s: %s", err, tc.class, tc.message)
			}
			if got := len(host.requests); got != tc.reached {
				t.Errorf("the host got %d requests, want %d", got, tc.reached)
			}
			if got := b.Counts().Refused; got != tc.refusals {
				t.Errorf("refusals %v, want %v", got, tc.refusals)
			}
		})
	}
}

// snapshot returns the records so far.
func (h *logRecorder) snapshot() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), h.records...)
}
