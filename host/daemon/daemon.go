// Package daemon wires wasmrpcd together from its config: the wasm runtime
// and modules, the transport, one RPC server per module target, the file
// watcher that swaps modules live, and the admin HTTP server; it runs them
// until its context ends and then shuts down gracefully.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// Daemon is a running wasmrpcd: create it with New, run it with Run,
// change its config live with Reconfigure.
//
// Lock order: a module's reloadMu, then that module's mu, then Daemon.mu.
// Nothing is taken while Daemon.mu is held, and no lock is held while
// waiting for a call.
type Daemon struct {
	log       *slog.Logger
	metrics   *metrics
	executors *rpc.Slots // executor_threads, over every module
	hostCalls *hostCalls // the guests' calls to the outside
	compiler  wasm.Compiler

	mu        sync.Mutex // guards the fields below
	cfg       *config.Config
	runtime   *wasm.Runtime
	transport transport.Transport
	tenants   map[string]*rpc.Slots // max_concurrency, per tenant
	budgets   budgets               // log, host call and notification budgets, per tenant
	modules   []*module             // in config order
	ready     bool
	watcher   *watcher
	adminAddr string
	closing   bool
	bg        sync.WaitGroup // background work: swaps' old versions closing, file-triggered reloads
}

// New returns a daemon for cfg, which must have passed config validation.
// It does nothing until Run.
func New(cfg *config.Config, log *slog.Logger) *Daemon {
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{
		cfg:       cfg,
		log:       log,
		executors: rpc.NewSlots(cfg.ExecutorThreads),
		tenants:   map[string]*rpc.Slots{},
	}
	d.metrics = newMetrics(d)
	d.metrics.registry.MustRegister(d.budgetCollector())
	d.hostCalls = &hostCalls{d: d}
	return d
}

// loadModules loads the modules of cfg side by side (each compile of a
// module new to the cache takes one CPU fewer than the machine has), in
// config order. When one fails it closes the others and returns the error
// of the first in config order that failed.
func (d *Daemon) loadModules(ctx context.Context, cfg *config.Config) ([]*module, error) {
	modules := make([]*module, len(cfg.Modules))
	errs := make([]error, len(cfg.Modules))
	var wg sync.WaitGroup
	for i := range cfg.Modules {
		mc := &cfg.Modules[i]
		wg.Go(func() { modules[i], errs[i] = d.newModule(ctx, mc, cfg.Tenant(mc.Tenant)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, m := range modules {
				if m != nil {
					m.close(context.Background())
				}
			}
			return nil, err
		}
	}
	return modules, nil
}

// SetCompiler makes the daemon compile each module its cache_dir does not
// hold yet with c, out of its process (see [wasm.Compiler]); without a
// cache_dir, modules compile in the daemon's process. Call it before Run.
func (d *Daemon) SetCompiler(c wasm.Compiler) { d.compiler = c }

// Run loads every module, connects to the broker, starts serving, the file
// watcher and the admin HTTP server, and blocks until ctx ends; then it
// stops consuming, lets the calls in flight finish within the config's
// shutdown_timeout and returns nil. It returns an error when a module
// cannot be loaded, the admin address cannot be bound or a server cannot
// start.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.config()
	if cfg.AdminListen != "" {
		admin, err := startAdmin(cfg, d.adminHandler(), d.log)
		if err != nil {
			return err
		}
		defer admin.stop()
		d.mu.Lock()
		d.adminAddr = admin.addr
		d.mu.Unlock()
		d.log.Info("admin listening", "addr", admin.addr, "token", cfg.Admin.TokenFile != "")
	}

	wcfg := wasm.Config{CacheDir: cfg.CacheDir, CacheKeyFile: cfg.CacheKeyFile, Logger: d.log, Host: d.hostCalls}
	if cfg.CacheDir != "" {
		wcfg.Compiler = d.compiler
	}
	rt, err := wasm.NewRuntime(ctx, wcfg)
	if err != nil {
		return fmt.Errorf("wasm runtime: %w", err)
	}
	d.mu.Lock()
	d.runtime = rt
	d.mu.Unlock()
	defer rt.Close(context.Background())
	defer d.waitBackground()

	modules, err := d.loadModules(ctx, cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.modules = modules
	d.mu.Unlock()
	defer d.closeModules()
	reportCtx, stopReports := context.WithCancel(context.Background())
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		d.reportBudgets(reportCtx)
	}()
	defer func() {
		stopReports()
		<-reported
	}()

	for _, w := range cfg.Warnings() {
		d.log.Warn("config: " + w)
	}
	d.log.Info("connecting to the broker", "url", redacted(cfg.TransportURL))
	tr, err := transport.Open(ctx, cfg.TransportURL, transportOptions(cfg, d.log))
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the broker
		}
		return fmt.Errorf("transport: %w", err)
	}
	d.mu.Lock()
	d.transport = tr
	d.mu.Unlock()
	defer tr.Close()
	defer d.hostCalls.close()

	for _, m := range modules {
		if err := m.start(ctx); err != nil {
			d.stopModules(context.Background())
			return err
		}
	}

	w, err := newWatcher(d)
	if err != nil {
		d.log.Warn("no file watcher; modules swap on a reload request or SIGHUP only", "err", err)
	} else {
		watchCtx, stopWatching := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.run(watchCtx)
		}()
		defer func() {
			stopWatching()
			<-done
		}()
		w.track()
	}
	d.mu.Lock()
	d.watcher, d.ready = w, true
	d.mu.Unlock()
	d.log.Info("wasmrpcd ready", "modules", len(modules), "server", cfg.Server)

	<-ctx.Done()
	d.mu.Lock()
	d.ready = false
	timeout := d.cfg.ShutdownTimeout.Std()
	d.mu.Unlock()
	d.log.Info("shutting down", "timeout", timeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d.stopModules(stopCtx)
	return nil
}

// AdminAddr returns the address the admin server listens on, once Run
// has bound it: "host:port", or "unix:" and the socket's path; "" before,
// or when admin_listen is off.
func (d *Daemon) AdminAddr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.adminAddr
}

// Ready reports whether the daemon serves every module.
func (d *Daemon) Ready() bool { return d.readiness().Ready }

// config returns the config in force.
func (d *Daemon) config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// moduleList returns the modules, in config order.
func (d *Daemon) moduleList() []*module {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*module(nil), d.modules...)
}

// module returns the module named name, or nil.
func (d *Daemon) module(name string) *module {
	for _, m := range d.moduleList() {
		if m.name() == name {
			return m
		}
	}
	return nil
}

func (d *Daemon) currentTransport() transport.Transport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.transport
}

// tenantSlots returns the concurrency slots of a tenant, made on first use
// from the config in force.
func (d *Daemon) tenantSlots(name string) *rpc.Slots {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.tenants[name]
	if s == nil {
		n := 1
		if t := d.cfg.Tenant(name); t != nil {
			n = t.MaxConcurrency
		}
		s = rpc.NewSlots(n)
		d.tenants[name] = s
	}
	return s
}

// background runs f on a goroutine Run waits for before it returns.
func (d *Daemon) background(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return
	}
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		f()
	}()
}

func (d *Daemon) waitBackground() {
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
	d.bg.Wait()
}

// stopModules shuts every module's server down at once.
func (d *Daemon) stopModules(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range d.moduleList() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.stop(ctx)
		}()
	}
	wg.Wait()
}

func (d *Daemon) closeModules() {
	for _, m := range d.moduleList() {
		m.close(context.Background())
	}
}

func (d *Daemon) isReady() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ready
}

// transportOptions returns the transport options of the config (its
// rabbit options, validated when it loaded) with the daemon's connection
// name and logger.
func transportOptions(cfg *config.Config, log *slog.Logger) transport.Options {
	o, _, err := cfg.TransportOptions()
	if err != nil && log != nil {
		log.Error("rabbit options refused; oslo's defaults apply", "err", err) // Validate refuses them first
	}
	o.ConnectionName = "wasmrpcd:" + cfg.Server
	o.Logger = log
	return o
}

// replyRetryTimeout is how long a reply to a missing reply queue is
// retried: kombu_missing_consumer_retry_timeout, the transport URL's
// query included.
func replyRetryTimeout(t transport.Transport) time.Duration {
	if o, ok := t.(interface{ Options() transport.Options }); ok {
		return o.Options().MissingConsumerTimeout()
	}
	return transport.Options{}.MissingConsumerTimeout()
}

// redacted returns a transport URL without its passwords, for logs.
func redacted(rawURL string) string {
	u, err := transport.ParseURL(rawURL)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
