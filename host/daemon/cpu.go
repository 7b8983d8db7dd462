package daemon

import (
	"os"
	"runtime"
	"sync/atomic"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/nice"
)

// guestCPU is where a tenant's guests run: on the caller's goroutine, or,
// for a tenant with cpu_nice, on the threads of its pool (package nice).
// Made once per tenant name; a reload replaces the pool.
type guestCPU struct {
	pool atomic.Pointer[nice.Pool] // nil: cpu_nice 0
}

// run runs f where the tenant's guests run, and returns when f has.
func (g *guestCPU) run(f func()) {
	if g == nil {
		f()
		return
	}
	if p := g.pool.Load(); p != nil {
		p.Run(f)
		return
	}
	f()
}

// cpuState holds each tenant's guestCPU and the GOMAXPROCS the daemon
// started with. Guarded by Daemon.mu.
type cpuState struct {
	byTenant map[string]*guestCPU
	procs    int // GOMAXPROCS before any raise; 0 when GOMAXPROCS is the operator's
}

// tenantCPU returns where tenant t's guests run, made on first use.
func (d *Daemon) tenantCPU(t *config.Tenant) *guestCPU {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.cpu.byTenant[t.Name]
	if g == nil {
		if d.cpu.byTenant == nil {
			d.cpu.byTenant = map[string]*guestCPU{}
		}
		g = &guestCPU{}
		if t.CPUNice > 0 {
			g.pool.Store(nice.NewPool(t.CPUNice, t.MaxConcurrency))
		}
		d.cpu.byTenant[t.Name] = g
	}
	return g
}

// setCPULocked gives the tenants of cfg in use the pools their cpu_nice
// and max_concurrency ask for (a pool replaced ends its threads once
// their calls are done), and sets GOMAXPROCS: the CPUs, plus one P for
// each thread a niced tenant may run, since such a thread can hold its P
// while the kernel runs others. Unless the operator set GOMAXPROCS. The
// caller holds d.mu.
func (d *Daemon) setCPULocked(cfg *config.Config) {
	for name, g := range d.cpu.byTenant {
		t := cfg.Tenant(name)
		old := g.pool.Load()
		switch {
		case t == nil || t.CPUNice == 0:
			g.pool.Store(nil)
		case old == nil || old.Nice() != t.CPUNice || old.Max() != t.MaxConcurrency:
			g.pool.Store(nice.NewPool(t.CPUNice, t.MaxConcurrency))
		default:
			continue
		}
		if old != nil {
			old.Close()
		}
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	if d.cpu.procs == 0 {
		d.cpu.procs = runtime.GOMAXPROCS(0)
	}
	niced := 0
	for _, t := range cfg.Tenants {
		if t.CPUNice > 0 {
			niced += t.MaxConcurrency
		}
	}
	if want := d.cpu.procs + niced; want != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(want)
		d.log.Info("GOMAXPROCS set for the threads of niced tenants", "gomaxprocs", want, "cpus", d.cpu.procs, "niced_threads", niced)
	}
}

// closeCPU ends the tenants' pools.
func (d *Daemon) closeCPU() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range d.cpu.byTenant {
		if p := g.pool.Swap(nil); p != nil {
			p.Close()
		}
	}
}
