package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// budgetReportInterval is how often the daemon logs, for each tenant
// whose guests went over their budgets, one line of what was dropped or
// refused: never a line for each.
const budgetReportInterval = 10 * time.Second

// budgets holds the budgets of each tenant (see package budget), shared
// by all its modules and instances, and what was last reported of them.
// Guarded by Daemon.mu.
type budgets struct {
	byTenant map[string]*budget.Tenant
	reported map[string]budget.Counts
}

// tenantBudget returns the budgets of tenant t, made on first use.
func (d *Daemon) tenantBudget(t *config.Tenant) *budget.Tenant {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.budgets.byTenant == nil {
		d.budgets.byTenant = map[string]*budget.Tenant{}
	}
	b := d.budgets.byTenant[t.Name]
	if b == nil {
		b = budget.New(t.Name, t.Budget())
		d.budgets.byTenant[t.Name] = b
	}
	return b
}

// setBudgetsLocked applies the budgets of cfg's tenants to those in use,
// which go on with their counts. The caller holds d.mu.
func (d *Daemon) setBudgetsLocked(cfg *config.Config) {
	for name, b := range d.budgets.byTenant {
		if t := cfg.Tenant(name); t != nil && b.Config() != t.Budget() {
			b.Set(t.Budget())
		}
	}
}

// budgetList returns the tenants' budgets in use.
func (d *Daemon) budgetList() map[string]*budget.Tenant {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]*budget.Tenant, len(d.budgets.byTenant))
	for name, b := range d.budgets.byTenant {
		out[name] = b
	}
	return out
}

// reportBudgets logs, every budgetReportInterval until ctx ends (and
// once more then), a line for each tenant whose guests had log lines
// dropped for the rate or host calls refused since the line before.
func (d *Daemon) reportBudgets(ctx context.Context) {
	t := time.NewTicker(budgetReportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.reportBudgetsOnce()
			return
		case <-t.C:
			d.reportBudgetsOnce()
		}
	}
}

func (d *Daemon) reportBudgetsOnce() {
	for name, b := range d.budgetList() {
		now := b.Counts()
		d.mu.Lock()
		if d.budgets.reported == nil {
			d.budgets.reported = map[string]budget.Counts{}
		}
		last := d.budgets.reported[name]
		d.budgets.reported[name] = now
		d.mu.Unlock()
		var bytes, lines uint64
		for _, s := range budget.Streams {
			bytes += now.DroppedBytes[s][budget.DropRate] - last.DroppedBytes[s][budget.DropRate]
			lines += now.DroppedLines[s][budget.DropRate] - last.DroppedLines[s][budget.DropRate]
		}
		refused := func(r budget.Refusal) uint64 { return now.Refused[r] - last.Refused[r] }
		calls, notes, large := refused(budget.RefuseHostCallRate), refused(budget.RefuseNotificationRate), refused(budget.RefuseNotificationSize)
		sends, huge := refused(budget.RefusePublishRate), refused(budget.RefusePublishSize)
		if bytes+lines+calls+notes+large+sends+huge == 0 {
			continue
		}
		d.log.Warn("guest budget exceeded", "tenant", name, "interval", budgetReportInterval.String(),
			"log_bytes_dropped", bytes, "log_lines_dropped", lines,
			"host_calls_refused", calls, "notifications_refused", notes, "notifications_too_large", large,
			"sends_refused", sends, "sends_too_large", huge)
	}
}

// budgetCollector returns the Prometheus collector of the tenants'
// budgets: log lines dropped and host calls refused, by reason.
func (d *Daemon) budgetCollector() prometheus.Collector {
	droppedBytes := prometheus.NewDesc("wasmrpcd_guest_log_dropped_bytes_total",
		"Bytes of guest log lines (log import, stdout, stderr) dropped, by reason: rate (over the tenant's log budget) or level (below its guest_log_level).",
		[]string{"tenant", "stream", "reason"}, nil)
	droppedLines := prometheus.NewDesc("wasmrpcd_guest_log_dropped_lines_total",
		"Guest log lines dropped, by reason, as wasmrpcd_guest_log_dropped_bytes_total.",
		[]string{"tenant", "stream", "reason"}, nil)
	refused := prometheus.NewDesc("wasmrpcd_guest_host_calls_refused_total",
		"Guest host calls refused, by reason: host_call_rate, notification_rate, notification_size (over max_notification_size), publish_rate or publish_size (over publish_burst).",
		[]string{"tenant", "reason"}, nil)
	return collectorFunc{descs: []*prometheus.Desc{droppedBytes, droppedLines, refused}, collect: func(ch chan<- prometheus.Metric) {
		for name, b := range d.budgetList() {
			c := b.Counts()
			for _, s := range budget.Streams {
				for _, r := range budget.Drops {
					ch <- prometheus.MustNewConstMetric(droppedBytes, prometheus.CounterValue, float64(c.DroppedBytes[s][r]), name, s.String(), r.String())
					ch <- prometheus.MustNewConstMetric(droppedLines, prometheus.CounterValue, float64(c.DroppedLines[s][r]), name, s.String(), r.String())
				}
			}
			for _, r := range budget.Refusals {
				ch <- prometheus.MustNewConstMetric(refused, prometheus.CounterValue, float64(c.Refused[r]), name, r.String())
			}
		}
	}}
}
