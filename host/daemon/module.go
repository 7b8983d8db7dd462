package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// Module states, as the admin API reports them.
const (
	stateLoaded  = "loaded"  // loaded, not consuming yet
	stateServing = "serving" // consuming its target
	stateStopped = "stopped"
)

// module is one configured module: its loaded versions, the dispatcher
// over their endpoints and the RPC server of its target.
//
// A swap (reload) loads the new versions while the old ones serve, points
// the dispatcher at the new endpoints, and closes the old versions once
// their calls in flight are done; the server and its queues stay as they
// are, so no call is lost. Lock order: see Daemon.
type module struct {
	d          *Daemon
	dispatcher *rpc.Dispatcher
	log        *slog.Logger

	reloadMu sync.Mutex // one load or swap at a time

	mu       sync.Mutex // guards the fields below
	cfg      *config.Module
	tenant   *config.Tenant
	versions []*wasm.Module
	server   *rpc.Server      // nil for a module without a topic, or stopped
	listener *notify.Listener // nil for a module without notification topics, or stopped
	// listenerPriorities are the priorities the listener consumes.
	listenerPriorities []string
	state              string
	lastError          string
	swaps              int
	loadedAt           time.Time
}

// newModule loads every version of a module; it does not serve yet.
func (d *Daemon) newModule(ctx context.Context, mc *config.Module, tenant *config.Tenant) (*module, error) {
	m := &module{d: d, dispatcher: new(rpc.Dispatcher), log: d.log.With("module", mc.Name), cfg: mc, tenant: tenant}
	versions, err := m.load(ctx, mc, tenant)
	if err != nil {
		return nil, err
	}
	if err := m.dispatcher.SetEndpoints(m.endpoints(versions, tenant)...); err != nil {
		closeAll(ctx, versions)
		return nil, fmt.Errorf("module %s: %w", mc.Name, err)
	}
	m.versions, m.state, m.loadedAt = versions, stateLoaded, time.Now()
	return m, nil
}

// load reads, verifies and loads every version of a module's config.
func (m *module) load(ctx context.Context, mc *config.Module, tenant *config.Tenant) ([]*wasm.Module, error) {
	files, err := readFiles(mc, m.d.config().MaxModuleSize)
	if err != nil {
		return nil, err
	}
	return m.loadFiles(ctx, mc, tenant, files)
}

// loadFiles loads files, the versions of mc as readFiles read them.
func (m *module) loadFiles(ctx context.Context, mc *config.Module, tenant *config.Tenant, files []moduleFile) ([]*wasm.Module, error) {
	var versions []*wasm.Module
	for i, file := range mc.Versions {
		lim := limitsOf(tenant)
		lim.Budget = m.d.tenantBudget(tenant)
		loaded, err := m.d.runtime.Load(ctx, mc.Name, files[i].data, lim)
		if err != nil {
			closeAll(ctx, versions)
			return nil, fmt.Errorf("module %s (%s): %w", mc.Name, file.Path, err)
		}
		versions = append(versions, loaded)
		for _, ep := range loaded.Manifest().Endpoints {
			m.log.Info("module loaded", "path", file.Path, "digest", loaded.Digest(),
				"namespace", ep.Namespace, "version", ep.Version, "methods", len(ep.Methods))
		}
	}
	return versions, nil
}

// moduleFile is the content of one version's file and its SHA-256.
type moduleFile struct {
	data   []byte
	digest string // lowercase hex
}

// readFiles reads the file of each version of mc (regular files of at
// most limit bytes, see config.ModuleFile.Read) and checks its sha256
// pin: the very bytes the daemon loads, so that a file replaced after
// the config's CheckFiles is still caught.
func readFiles(mc *config.Module, limit config.Size) ([]moduleFile, error) {
	files := make([]moduleFile, 0, len(mc.Versions))
	for _, file := range mc.Versions {
		data, digest, err := file.Read(limit)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", mc.Name, err)
		}
		files = append(files, moduleFile{data: data, digest: digest})
	}
	return files, nil
}

// endpoints returns the RPC endpoints of loaded versions, in order, under
// tenant.
func (m *module) endpoints(versions []*wasm.Module, tenant *config.Tenant) []rpc.Endpoint {
	var eps []rpc.Endpoint
	hidden, cpu := hiddenKeys(tenant), m.d.tenantCPU(tenant)
	for _, v := range versions {
		eps = append(eps, endpointsOf(v, hidden, cpu)...)
	}
	return eps
}

// slots returns what the module's server and listener take before each
// request: a slot of its tenant, then an executor slot. The caller holds
// m.mu.
func (m *module) slots() chain {
	return chain{m.d.tenantSlots(m.cfg.Tenant), m.d.executors}
}

// limitsOf returns the wasm limits of a tenant.
func limitsOf(t *config.Tenant) wasm.Limits {
	return wasm.Limits{
		MemoryLimit:   uint64(t.MemoryLimit),
		CallTimeout:   t.CallTimeout.Std(),
		MaxInstances:  t.MaxInstances,
		MaxResultSize: int(t.MaxResultSize),
		StackLimit:    uint64(t.StackLimit),
	}
}

// errUnchanged is what reload answers when the files are what it serves.
var errUnchanged = errors.New("module files unchanged")

// reload swaps in the module's files as they are now on disk, under cfg
// and tenant (the module's own when nil). Unless force, files whose
// digests equal those served are left alone (errUnchanged). A version
// that fails to read, verify, compile, validate or instantiate is refused:
// the old one goes on serving and the module's last error says why.
func (m *module) reload(ctx context.Context, mc *config.Module, tenant *config.Tenant, force bool, reason string) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.mu.Lock()
	if mc == nil {
		mc, tenant = m.cfg, m.tenant
	}
	current := m.versions
	m.mu.Unlock()

	start := time.Now()
	files, err := readFiles(mc, m.d.config().MaxModuleSize)
	if err == nil && !force && sameFiles(files, current) {
		// What is on disk is what serves: an earlier refusal is over.
		m.mu.Lock()
		m.lastError = ""
		m.mu.Unlock()
		return errUnchanged
	}
	var versions []*wasm.Module
	if err == nil {
		inBackground(func() {
			versions, err = m.loadFiles(ctx, mc, tenant, files)
			if err == nil {
				// As many instances ready as the old version uses, so
				// that its traffic does not wait for instances once it
				// moves.
				err = warmLike(ctx, versions, current)
			}
		})
	}
	if err == nil {
		err = m.dispatcher.SetEndpoints(m.endpoints(versions, tenant)...)
		if err != nil {
			closeAll(ctx, versions)
		}
	}
	if err != nil {
		m.mu.Lock()
		m.lastError = err.Error()
		m.mu.Unlock()
		m.d.metrics.swaps.WithLabelValues(mc.Name, mc.Tenant, "refused").Inc()
		m.log.Error("module swap refused; the old version goes on serving", "reason", reason, "err", err)
		return err
	}
	m.mu.Lock()
	old := m.versions
	m.cfg, m.tenant, m.versions = mc, tenant, versions
	m.lastError, m.loadedAt = "", time.Now()
	m.swaps++
	var stale *notify.Listener
	if m.state == stateServing && !slices.Equal(prioritiesOf(versions), m.listenerPriorities) {
		// The new version handles other priorities: consume those.
		stale, m.listener, m.listenerPriorities = m.listener, nil, nil
		if err := m.startListenerLocked(ctx); err != nil {
			m.lastError = err.Error()
			m.log.Error("notification listener not restarted after the swap", "err", err)
		}
	}
	m.mu.Unlock()
	if stale != nil {
		stale.Shutdown(ctx)
	}
	m.d.metrics.swaps.WithLabelValues(mc.Name, mc.Tenant, "ok").Inc()
	m.log.Info("module swapped", "reason", reason, "took", time.Since(start).Round(time.Microsecond), "digests", digests(versions))
	m.d.background(func() {
		// Calls in flight on the old versions finish within their own
		// deadline; the margin lets them reply.
		ctx, cancel := context.WithTimeout(context.Background(), limitsOf(tenant).CallTimeout+5*time.Second)
		defer cancel()
		closeAll(ctx, old)
	})
	return nil
}

// sameFiles reports whether files hold what versions serve.
func sameFiles(files []moduleFile, versions []*wasm.Module) bool {
	if len(files) != len(versions) {
		return false
	}
	for i, f := range files {
		if f.digest != versions[i].Digest() {
			return false
		}
	}
	return true
}

// warmLike gives each new version as many instances as the old version
// at the same place has; on error it closes the new versions.
func warmLike(ctx context.Context, versions, old []*wasm.Module) error {
	for i, v := range versions {
		if i >= len(old) {
			break
		}
		if err := v.Warm(ctx, old[i].Instances()); err != nil {
			closeAll(ctx, versions)
			return fmt.Errorf("module %s: instantiating the new version: %w", v.Name(), err)
		}
	}
	return nil
}

func digests(versions []*wasm.Module) []string {
	out := make([]string, len(versions))
	for i, v := range versions {
		out[i] = v.Digest()
	}
	return out
}

func closeAll(ctx context.Context, versions []*wasm.Module) {
	for _, v := range versions {
		v.Close(ctx)
	}
}

// start starts the module's RPC server on its target.
func (m *module) start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.Topic != "" {
		d := m.d
		cfg := d.config()
		target := transport.Target{Exchange: m.cfg.Exchange, Topic: m.cfg.Topic, Server: m.cfg.Server}
		server := rpc.NewServer(d.currentTransport(), target, m.dispatcher, rpc.ServerOptions{
			Executors:         cfg.ExecutorThreads,
			ReplyRetryTimeout: replyRetryTimeout(d.currentTransport()),
			Logger:            m.log,
			Slots:             m.slots(),
			Observer:          d.metrics.observer(m.cfg.Name, m.cfg.Tenant, m.dispatcher),
			OnReplyRetry:      d.metrics.replyRetry(m.cfg.Name, m.cfg.Tenant),
		})
		if err := server.Start(ctx); err != nil {
			return fmt.Errorf("module %s: %w", m.cfg.Name, err)
		}
		m.server = server
	}
	if err := m.startListenerLocked(ctx); err != nil {
		if m.server != nil {
			m.server.Shutdown(ctx)
			m.server = nil
		}
		return err
	}
	m.state = stateServing
	return nil
}

// name returns the module's name.
func (m *module) name() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Name
}

// running reports whether the module's consumers run.
func (m *module) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state == stateServing && (m.server == nil || m.server.Running()) &&
		(m.listener == nil || m.listener.Running())
}

// stop stops the module's server and listener, waiting for their calls
// within ctx.
func (m *module) stop(ctx context.Context) {
	m.mu.Lock()
	server, listener := m.server, m.listener
	m.server, m.listener, m.state = nil, nil, stateStopped
	m.mu.Unlock()
	if server != nil {
		if err := server.Shutdown(ctx); err != nil {
			m.log.Warn("calls cancelled at shutdown", "err", err)
		}
	}
	if listener != nil {
		if err := listener.Shutdown(ctx); err != nil {
			m.log.Warn("notifications cancelled at shutdown", "err", err)
		}
	}
}

// close releases the module's instances.
func (m *module) close(ctx context.Context) {
	m.mu.Lock()
	versions := m.versions
	m.versions = nil
	m.mu.Unlock()
	closeAll(ctx, versions)
}

// moduleStatus is a module as the admin API shows it.
type moduleStatus struct {
	Name      string          `json:"name"`
	Tenant    string          `json:"tenant"`
	Topic     string          `json:"topic,omitempty"`
	Server    string          `json:"server,omitempty"`
	Exchange  string          `json:"exchange,omitempty"`
	State     string          `json:"state"`
	Versions  []versionStatus `json:"versions"`
	Swaps     int             `json:"swaps"`
	LoadedAt  time.Time       `json:"loaded_at"`
	LastError string          `json:"last_error,omitempty"`
	InFlight  int             `json:"in_flight"`
}

type versionStatus struct {
	Path      string            `json:"path"`
	Digest    string            `json:"digest"`
	Size      int               `json:"size"`
	Instances int               `json:"instances"`
	Endpoints []endpointVersion `json:"endpoints"`
}

type endpointVersion struct {
	Namespace string   `json:"namespace,omitempty"`
	Version   string   `json:"version"`
	Methods   []string `json:"methods"`
}

func (m *module) status() moduleStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := moduleStatus{
		Name: m.cfg.Name, Tenant: m.cfg.Tenant, Topic: m.cfg.Topic, Exchange: m.cfg.Exchange,
		State: m.state, Swaps: m.swaps, LoadedAt: m.loadedAt, LastError: m.lastError,
	}
	if m.cfg.Topic != "" {
		st.Server = m.cfg.Server
	}
	if m.server != nil {
		st.InFlight = m.server.InFlight()
	}
	for i, v := range m.versions {
		vs := versionStatus{Digest: v.Digest(), Size: v.Size(), Instances: v.Instances()}
		if i < len(m.cfg.Versions) {
			vs.Path = m.cfg.Versions[i].Path
		}
		for _, ep := range v.Manifest().Endpoints {
			ev := endpointVersion{Namespace: ep.Namespace, Version: ep.Version}
			for _, meth := range ep.Methods {
				ev.Methods = append(ev.Methods, meth.Name)
			}
			slices.Sort(ev.Methods)
			vs.Endpoints = append(vs.Endpoints, ev)
		}
		st.Versions = append(st.Versions, vs)
	}
	return st
}
