package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// module is one configured module: its loaded versions, the dispatcher
// over their endpoints and the RPC server of its target.
type module struct {
	cfg        *config.Module
	versions   []*wasm.Module
	dispatcher *rpc.Dispatcher
	server     *rpc.Server // nil for a module without a topic
}

// loadModule reads, verifies and loads every version of a module.
func (d *Daemon) loadModule(ctx context.Context, mc *config.Module) (*module, error) {
	tenant := d.cfg.Tenant(mc.Tenant)
	slots := d.tenants[mc.Tenant]
	if tenant == nil || slots == nil {
		return nil, fmt.Errorf("module %s: unknown tenant %q", mc.Name, mc.Tenant)
	}
	m := &module{cfg: mc}
	var endpoints []rpc.Endpoint
	for _, file := range mc.Versions {
		loaded, err := d.loadVersion(ctx, mc.Name, file, tenant)
		if err != nil {
			m.close(ctx)
			return nil, err
		}
		m.versions = append(m.versions, loaded)
		endpoints = append(endpoints, endpointsOf(loaded, slots)...)
	}
	disp, err := rpc.NewDispatcher(endpoints...)
	if err != nil {
		m.close(ctx)
		return nil, fmt.Errorf("module %s: %w", mc.Name, err)
	}
	m.dispatcher = disp
	return m, nil
}

// loadVersion reads one file of a module, checks its sha256 pin, and
// compiles, validates and instantiates it under the tenant's limits.
func (d *Daemon) loadVersion(ctx context.Context, name string, file config.ModuleFile, tenant *config.Tenant) (*wasm.Module, error) {
	data, err := os.ReadFile(file.Path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	if err := file.Verify(data); err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	loaded, err := d.runtime.Load(ctx, name, data, limitsOf(tenant))
	if err != nil {
		return nil, fmt.Errorf("module %s (%s): %w", name, file.Path, err)
	}
	for _, ep := range loaded.Manifest().Endpoints {
		d.log.Info("module loaded", "module", name, "path", file.Path, "digest", loaded.Digest(),
			"namespace", ep.Namespace, "version", ep.Version, "methods", len(ep.Methods))
	}
	return loaded, nil
}

// limitsOf returns the wasm limits of a tenant.
func limitsOf(t *config.Tenant) wasm.Limits {
	return wasm.Limits{
		MemoryLimit:   uint64(t.MemoryLimit),
		CallTimeout:   t.CallTimeout.Std(),
		MaxInstances:  t.MaxInstances,
		MaxResultSize: int(t.MaxResultSize),
	}
}

// start starts the module's RPC server on its target.
func (m *module) start(ctx context.Context, d *Daemon) error {
	if m.cfg.Topic == "" {
		return nil
	}
	target := transport.Target{Exchange: m.cfg.Exchange, Topic: m.cfg.Topic, Server: m.cfg.Server}
	m.server = rpc.NewServer(d.transport, target, m.dispatcher, rpc.ServerOptions{
		Executors:         d.cfg.ExecutorThreads,
		ReplyRetryTimeout: d.cfg.Rabbit.MissingConsumerRetryTimeout.Std(),
		Logger:            d.log.With("module", m.cfg.Name),
		Slots:             d.executors,
	})
	if err := m.server.Start(ctx); err != nil {
		return fmt.Errorf("module %s: %w", m.cfg.Name, err)
	}
	return nil
}

// running reports whether the module's consumers run.
func (m *module) running() bool {
	return m.server == nil || m.server.Running()
}

// stop stops the module's server, waiting for its calls within ctx.
func (m *module) stop(ctx context.Context, log *slog.Logger) {
	if m.server == nil {
		return
	}
	if err := m.server.Shutdown(ctx); err != nil {
		log.Warn("calls cancelled at shutdown", "module", m.cfg.Name, "err", err)
	}
}

// close releases the module's instances.
func (m *module) close(ctx context.Context) {
	for _, v := range m.versions {
		v.Close(ctx)
	}
	m.versions = nil
}
