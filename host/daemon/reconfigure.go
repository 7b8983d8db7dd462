package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// Reconfigure applies a new config to the running daemon, as SIGHUP does:
// modules added are loaded and started, modules removed are stopped (their
// calls in flight finish) and closed, modules whose target changed move to
// the new target, modules whose files, tenant or tenant limits changed are
// swapped, and the watcher follows the new files. Tenants' concurrency
// bounds apply to calls that start afterwards. Settings that need a
// restart (transport_url, control_exchange, server, admin_listen, admin,
// cache_dir, cache_key_file, executor_threads, rabbit) are logged and left as they are.
//
// A module that fails to load keeps its old version, or is not added;
// Reconfigure then returns the errors joined, having applied the rest.
func (d *Daemon) Reconfigure(ctx context.Context, next *config.Config) error {
	d.mu.Lock()
	if !d.ready {
		d.mu.Unlock()
		return errors.New("daemon is not serving yet")
	}
	prev := d.cfg
	for _, key := range restartOnly(prev, next) {
		d.log.Warn("config change needs a restart; ignored", "key", key)
	}
	// Keep the settings that need a restart, take the rest.
	applied := *next
	applied.TransportURL, applied.ControlExchange, applied.Server = prev.TransportURL, prev.ControlExchange, prev.Server
	applied.AdminListen, applied.CacheDir, applied.CacheKeyFile, applied.ExecutorThreads, applied.Rabbit = prev.AdminListen, prev.CacheDir, prev.CacheKeyFile, prev.ExecutorThreads, prev.Rabbit
	applied.Admin = prev.Admin
	d.cfg = &applied
	d.setBudgetsLocked(&applied)
	for name, t := range applied.Tenants {
		if old := prev.Tenant(name); old == nil || old.MaxConcurrency != t.MaxConcurrency {
			delete(d.tenants, name) // made anew at the next load from the new bound
		}
	}
	current := append([]*module(nil), d.modules...)
	d.mu.Unlock()

	byName := map[string]*module{}
	for _, m := range current {
		byName[m.name()] = m
	}
	var errs []error
	var modules []*module
	for i := range applied.Modules {
		mc := &applied.Modules[i]
		tenant := applied.Tenant(mc.Tenant)
		m := byName[mc.Name]
		if m == nil {
			added, err := d.newModule(ctx, mc, tenant)
			if err == nil {
				if err = added.start(ctx); err != nil {
					added.close(ctx)
				}
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			d.log.Info("module added", "module", mc.Name)
			modules = append(modules, added)
			continue
		}
		delete(byName, mc.Name)
		modules = append(modules, m)
		if err := d.update(ctx, m, mc, tenant, prev.Tenant(m.cfgTenantName())); err != nil {
			errs = append(errs, err)
		}
	}
	d.mu.Lock()
	d.modules = modules
	w := d.watcher
	d.mu.Unlock()
	for name, m := range byName {
		d.log.Info("module removed", "module", name)
		m.stop(ctx)
		m.close(ctx)
	}
	if w != nil {
		w.track()
	}
	return errors.Join(errs...)
}

// update brings a running module to mc: a swap when its files, tenant or
// tenant limits changed, a move when its target did.
func (d *Daemon) update(ctx context.Context, m *module, mc *config.Module, tenant, prevTenant *config.Tenant) error {
	m.mu.Lock()
	old := *m.cfg
	m.mu.Unlock()
	tenantChanged := old.Tenant != mc.Tenant || !reflect.DeepEqual(prevTenant, tenant)
	if !slices.Equal(old.Versions, mc.Versions) || tenantChanged {
		if err := m.reload(ctx, mc, tenant, true, "config changed"); err != nil {
			return err
		}
	} else {
		m.mu.Lock()
		m.cfg = mc
		m.mu.Unlock()
	}
	// A new target, pool or tenant (whose slots the consumers take) needs
	// new consumers.
	if old.Topic != mc.Topic || old.Server != mc.Server || old.Exchange != mc.Exchange || tenantChanged ||
		!slices.Equal(old.NotificationTopics, mc.NotificationTopics) || old.NotificationPool != mc.NotificationPool ||
		old.NotificationAllowRequeue != mc.NotificationAllowRequeue {
		m.stop(ctx)
		m.mu.Lock()
		m.cfg = mc
		m.mu.Unlock()
		if err := m.start(ctx); err != nil {
			return fmt.Errorf("module %s: restarting its consumers: %w", mc.Name, err)
		}
		d.log.Info("module consumers restarted", "module", mc.Name, "topic", mc.Topic, "server", mc.Server,
			"exchange", mc.Exchange, "tenant", mc.Tenant, "notification_topics", mc.NotificationTopics)
	}
	return nil
}

// cfgTenantName returns the name of the module's tenant.
func (m *module) cfgTenantName() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Tenant
}

// restartOnly lists the keys that differ between prev and next and only
// take effect at start.
func restartOnly(prev, next *config.Config) []string {
	var keys []string
	check := func(key string, changed bool) {
		if changed {
			keys = append(keys, key)
		}
	}
	check("transport_url", prev.TransportURL != next.TransportURL)
	check("control_exchange", prev.ControlExchange != next.ControlExchange)
	check("server", prev.Server != next.Server)
	check("admin_listen", prev.AdminListen != next.AdminListen)
	check("admin", prev.Admin != next.Admin)
	check("cache_dir", prev.CacheDir != next.CacheDir)
	check("cache_key_file", prev.CacheKeyFile != next.CacheKeyFile)
	check("executor_threads", prev.ExecutorThreads != next.ExecutorThreads)
	check("rabbit", !maps.Equal(prev.Rabbit, next.Rabbit))
	check("oslo_config_file", prev.OsloConfigFile != next.OsloConfigFile)
	check("log", prev.Log != next.Log)
	return keys
}
