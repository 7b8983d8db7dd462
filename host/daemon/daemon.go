// Package daemon wires wasmrpcd together from its config: the wasm runtime
// and modules, the transport, one RPC server per module target, and the
// admin HTTP server; it runs them until its context ends and then shuts
// down gracefully.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// Daemon is a running wasmrpcd: create it with New, run it with Run.
type Daemon struct {
	cfg *config.Config
	log *slog.Logger

	runtime   *wasm.Runtime
	transport transport.Transport
	executors *rpc.Slots            // executor_threads, over every module
	tenants   map[string]*rpc.Slots // max_concurrency, per tenant
	modules   []*module

	mu    sync.Mutex // guards ready
	ready bool
}

// New returns a daemon for cfg, which must have passed config validation.
// It does nothing until Run.
func New(cfg *config.Config, log *slog.Logger) *Daemon {
	if log == nil {
		log = slog.Default()
	}
	tenants := make(map[string]*rpc.Slots, len(cfg.Tenants))
	for name, t := range cfg.Tenants {
		tenants[name] = rpc.NewSlots(t.MaxConcurrency)
	}
	return &Daemon{
		cfg:       cfg,
		log:       log,
		executors: rpc.NewSlots(cfg.ExecutorThreads),
		tenants:   tenants,
	}
}

// Run loads every module, connects to the broker, starts serving and the
// admin HTTP server, and blocks until ctx ends; then it stops consuming,
// lets the calls in flight finish within the config's shutdown_timeout and
// returns nil. It returns an error when a module cannot be loaded, the
// admin address cannot be bound or a server cannot start.
func (d *Daemon) Run(ctx context.Context) (err error) {
	var admin *http.Server
	if d.cfg.AdminListen != "" {
		ln, err := net.Listen("tcp", d.cfg.AdminListen)
		if err != nil {
			return fmt.Errorf("admin_listen: %w", err)
		}
		admin = &http.Server{Handler: d.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("admin server failed", "err", err)
			}
		}()
		defer admin.Close()
		d.log.Info("admin listening", "addr", ln.Addr().String())
	}

	if d.cfg.CacheDir != "" {
		if err := os.MkdirAll(d.cfg.CacheDir, 0o755); err != nil {
			return fmt.Errorf("cache_dir: %w", err)
		}
	}
	d.runtime, err = wasm.NewRuntime(ctx, wasm.Config{CacheDir: d.cfg.CacheDir, Logger: d.log})
	if err != nil {
		return fmt.Errorf("wasm runtime: %w", err)
	}
	defer d.runtime.Close(context.Background())

	for i := range d.cfg.Modules {
		m, err := d.loadModule(ctx, &d.cfg.Modules[i])
		if err != nil {
			d.closeModules()
			return err
		}
		d.modules = append(d.modules, m)
	}
	defer d.closeModules()

	d.log.Info("connecting to the broker", "hosts", redactedHosts(d.cfg.TransportURL))
	d.transport, err = transport.Open(ctx, d.cfg.TransportURL, transportOptions(d.cfg, d.log))
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the broker
		}
		return fmt.Errorf("transport: %w", err)
	}
	defer d.transport.Close()

	for _, m := range d.modules {
		if err := m.start(ctx, d); err != nil {
			d.stopModules(context.Background())
			return err
		}
	}
	d.setReady(true)
	d.log.Info("wasmrpcd ready", "modules", len(d.modules), "server", d.cfg.Server)

	<-ctx.Done()
	d.setReady(false)
	d.log.Info("shutting down", "timeout", d.cfg.ShutdownTimeout.Std())
	stopCtx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout.Std())
	defer cancel()
	d.stopModules(stopCtx)
	return nil
}

// stopModules shuts every module's servers down at once.
func (d *Daemon) stopModules(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range d.modules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.stop(ctx, d.log)
		}()
	}
	wg.Wait()
}

func (d *Daemon) closeModules() {
	for _, m := range d.modules {
		m.close(context.Background())
	}
}

func (d *Daemon) setReady(v bool) {
	d.mu.Lock()
	d.ready = v
	d.mu.Unlock()
}

func (d *Daemon) isReady() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ready
}

// transportOptions maps the config's rabbit options onto the transport's.
func transportOptions(cfg *config.Config, log *slog.Logger) transport.Options {
	r := cfg.Rabbit
	heartbeat := r.HeartbeatTimeoutThreshold.Std()
	if heartbeat == 0 {
		heartbeat = -1 // 0 disables heartbeats in oslo; the transport's 0 is its default
	}
	return transport.Options{
		ControlExchange:             cfg.ControlExchange,
		DurableQueues:               r.DurableQueues,
		AutoDelete:                  r.AutoDelete,
		HAQueues:                    r.HAQueues,
		QuorumQueues:                r.QuorumQueue,
		QuorumDeliveryLimit:         r.QuorumDeliveryLimit,
		QuorumMaxMemoryLength:       r.QuorumMaxMemoryLength,
		QuorumMaxMemoryBytes:        int(r.QuorumMaxMemoryBytes),
		TransientQueuesTTL:          r.TransientQueuesTTL.Std(),
		PrefetchCount:               r.QosPrefetchCount,
		HeartbeatTimeout:            heartbeat,
		ReconnectDelay:              r.ReconnectDelay.Std(),
		RetryInterval:               r.RetryInterval.Std(),
		RetryBackoff:                r.RetryBackoff.Std(),
		IntervalMax:                 r.IntervalMax.Std(),
		FailoverStrategy:            r.FailoverStrategy,
		MissingConsumerRetryTimeout: r.MissingConsumerRetryTimeout.Std(),
		ConnectionName:              "wasmrpcd:" + cfg.Server,
		Logger:                      log,
	}
}

// redactedHosts returns the host list of a transport URL without
// credentials, for logs.
func redactedHosts(rawURL string) []string {
	u, err := transport.ParseURL(rawURL)
	if err != nil {
		return nil
	}
	hosts := make([]string, 0, len(u.Hosts))
	for _, h := range u.Hosts {
		hosts = append(hosts, net.JoinHostPort(h.Hostname, fmt.Sprint(h.Port)))
	}
	return hosts
}
