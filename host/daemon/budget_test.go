package daemon

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// TestBudgetReports: what a tenant's budgets drop or refuse is logged
// once per interval, as one line of totals, and only when there is
// something new; /metrics counts it by tenant, stream and reason.
func TestBudgetReports(t *testing.T) {
	cfg := config.Default()
	acme := config.NewTenant("acme")
	acme.LogRate, acme.LogBurst = 1, 8*config.KiB
	acme.HostCallRate, acme.HostCallBurst = 1, 1
	acme.PublishRate, acme.PublishBurst = 1, 64*config.KiB
	acme.GuestLogLevel = config.LevelInfo
	cfg.Tenants["acme"] = acme
	var out syncBuffer
	d := New(cfg, slog.New(slog.NewTextHandler(&out, nil)))
	b := d.tenantBudget(acme)
	if d.tenantBudget(acme) != b {
		t.Fatal("a tenant's modules must share one budget")
	}
	quiet := d.tenantBudget(cfg.Tenant(config.DefaultTenant))

	for _, step := range []struct {
		name  string
		do    func()
		lines []string // the report's lines
	}{
		{"nothing dropped", func() { b.TakeLog(budget.StreamLog, 100); quiet.TakeLog(budget.StreamLog, 100) }, nil},
		{"drops and refusals", func() {
			b.TakeLog(budget.StreamStdout, 8*1024) // over the rest of the burst
			b.TakeLog(budget.StreamLog, 8*1024)
			b.Level(budget.StreamLog, slog.LevelDebug, 50) // below the level: counted, not reported
			_ = b.HostCall()
			_ = b.HostCall()
			_ = b.Notification(1 << 30)
			_ = b.Publish(64 << 10)
			_ = b.Publish(1) // over the rate
			_ = b.Publish(1 << 20)
			_ = b.Publish(1 << 20)
		}, []string{`level=WARN msg="guest budget exceeded" tenant=acme interval=10s log_bytes_dropped=16384 log_lines_dropped=2 host_calls_refused=1 notifications_refused=0 notifications_too_large=1 sends_refused=1 sends_too_large=2`}},
		{"nothing new", func() {}, nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := len(out.String())
			step.do()
			d.reportBudgetsOnce()
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()[before:]), "\n") {
				if l != "" {
					_, rest, _ := strings.Cut(l, " ") // time=…
					got = append(got, rest)
				}
			}
			if strings.Join(got, "\n") != strings.Join(step.lines, "\n") {
				t.Errorf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(step.lines, "\n"))
			}
		})
	}

	rec := httptest.NewRecorder()
	d.metrics.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`wasmrpcd_guest_log_dropped_bytes_total{reason="rate",stream="stdout",tenant="acme"} 8192`,
		`wasmrpcd_guest_log_dropped_bytes_total{reason="rate",stream="log",tenant="acme"} 8192`,
		`wasmrpcd_guest_log_dropped_bytes_total{reason="level",stream="log",tenant="acme"} 50`,
		`wasmrpcd_guest_log_dropped_lines_total{reason="level",stream="log",tenant="acme"} 1`,
		`wasmrpcd_guest_log_dropped_bytes_total{reason="rate",stream="log",tenant="default"} 0`,
		`wasmrpcd_guest_host_calls_refused_total{reason="host_call_rate",tenant="acme"} 1`,
		`wasmrpcd_guest_host_calls_refused_total{reason="notification_rate",tenant="acme"} 0`,
		`wasmrpcd_guest_host_calls_refused_total{reason="notification_size",tenant="acme"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A reload with other budgets applies them to the budget in use.
	next := *cfg
	next.Tenants = map[string]*config.Tenant{"acme": config.NewTenant("acme"), config.DefaultTenant: cfg.Tenant(config.DefaultTenant)}
	d.mu.Lock()
	d.setBudgetsLocked(&next)
	d.mu.Unlock()
	if b.Config() != next.Tenant("acme").Budget() || b.HostCall() != nil {
		t.Errorf("budget after the reload: %+v", b.Config())
	}
}
