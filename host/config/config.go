// Package config loads, completes and validates the wasmrpcd daemon's YAML
// config file.
//
//	cfg, err := config.Load("/etc/wasmrpcd/wasmrpcd.yaml")
//	if err != nil {
//		return err // every problem, each with its line and key path
//	}
//	m := cfg.Module("testkit")
//	limits := cfg.Tenant(m.Tenant)
//
// Load and Parse decode the file through yaml.Node so that each problem
// names its line and key path, refuse unknown keys (with a "did you mean"
// hint), fill in the defaults, resolve relative paths against the config
// file's directory and run Validate. A Config built in code starts from
// Default and is checked with Validate.
//
// docs/CONFIG.md is the reference of every key.
package config

import (
	"log/slog"
	"slices"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// Defaults of the top-level keys and of a tenant's limits.
const (
	DefaultControlExchange = "openstack"
	DefaultAdminListen     = "127.0.0.1:9464"
	DefaultExecutorThreads = 64
	DefaultShutdownTimeout = Duration(30 * time.Second)
	DefaultTenant          = "default"
	DefaultMaxModuleSize   = 256 * MiB

	DefaultMemoryLimit   = 64 * MiB
	DefaultCallTimeout   = Duration(30 * time.Second)
	DefaultMaxInstances  = 8
	DefaultMaxResultSize = 4 * MiB

	// The budgets of a tenant's guests (see package budget).
	DefaultLogRate             = Size(budget.DefaultLogRate)
	DefaultLogBurst            = Size(budget.DefaultLogBurst)
	DefaultHostCallRate        = budget.DefaultHostCallRate
	DefaultHostCallBurst       = budget.DefaultHostCallBurst
	DefaultNotificationRate    = budget.DefaultNotificationRate
	DefaultNotificationBurst   = budget.DefaultNotificationBurst
	DefaultMaxNotificationSize = Size(budget.DefaultMaxNotificationSize)
	DefaultPublishRate         = Size(budget.DefaultPublishRate)
	DefaultPublishBurst        = Size(budget.DefaultPublishBurst)
	DefaultGuestLogLevel       = LevelDebug
	DefaultGuestLogMaxLevel    = LevelError
	DefaultStackLimit          = 4 * MiB
	// DefaultMaxHops and DefaultMaxSendsPerRequest bound the chains of
	// calls and casts guests make (docs/RATIONALE.md, "Call chains").
	DefaultMaxHops            = 4
	DefaultMaxSendsPerRequest = 16
	// maxMaxHops is the largest max_hops: what a request can carry.
	maxMaxHops = 1 << 16
)

// DefaultContextHiddenKeys are the request context keys a tenant's guests
// do not see unless its context_hidden_keys says otherwise: those of
// oslo.context's RequestContext that carry credentials (the keys its
// get_logging_values masks or drops, and the service token).
var DefaultContextHiddenKeys = []string{"auth_token", "auth_token_info", "service_token"}

// Config is the daemon's configuration. Parse fills in every default, so
// that a loaded Config holds the effective value of every key.
type Config struct {
	// TransportURL is the broker's URL, rabbit:// or amqp://, possibly with
	// several comma-separated hosts. Required: in the file, in the file
	// TransportURLFile names, in the environment variable TransportURLEnv
	// names, or in OsloConfigFile.
	TransportURL string `yaml:"transport_url"`
	// TransportURLFile is a file holding the transport URL, so that the
	// broker's password need not be in the config file.
	TransportURLFile string `yaml:"transport_url_file,omitempty"`
	// TransportURLEnv names an environment variable holding the
	// transport URL.
	TransportURLEnv string `yaml:"transport_url_env,omitempty"`
	// OsloConfigFile is an oslo.config file, such as a service's
	// /etc/cinder/cinder.conf, whose [DEFAULT] transport_url and
	// control_exchange and [oslo_messaging_rabbit] options the daemon
	// takes; the keys of this file override them.
	OsloConfigFile string `yaml:"oslo_config_file,omitempty"`
	// ControlExchange is oslo.messaging's control_exchange: the topic
	// exchange of RPC targets and notifications. Default "openstack".
	ControlExchange string `yaml:"control_exchange"`
	// Server is this daemon's Target.server. Default: the host name.
	Server string `yaml:"server"`
	// AdminListen is the host:port of the admin HTTP server (/metrics,
	// /healthz, /readyz, module admin), or "unix:" and the path of a unix
	// socket; empty disables it.
	// Default "127.0.0.1:9464".
	AdminListen string `yaml:"admin_listen"`
	// Admin holds the admin HTTP server's limits and authentication.
	Admin Admin `yaml:"admin"`
	// CacheDir is the directory of the compiled-module cache; empty keeps
	// compiled modules in memory only. Default /var/cache/wasmrpcd for root,
	// otherwise $XDG_CACHE_HOME/wasmrpcd or ~/.cache/wasmrpcd.
	CacheDir string `yaml:"cache_dir"`
	// CacheKeyFile holds the key that authenticates each compiled module
	// in CacheDir (created, 0600, when missing); unused without a
	// CacheDir. Default /var/lib/wasmrpcd/cache.key for root, otherwise
	// $XDG_STATE_HOME/wasmrpcd/cache.key or
	// ~/.local/state/wasmrpcd/cache.key.
	CacheKeyFile string `yaml:"cache_key_file"`
	// MaxModuleSize caps the size of a module file; a larger one is
	// refused before it is read. Default 256MiB.
	MaxModuleSize Size `yaml:"max_module_size"`
	// ExecutorThreads bounds the RPC calls and notifications handled at
	// once, over all modules (oslo's executor_thread_pool_size). Default 64.
	ExecutorThreads int `yaml:"executor_threads"`
	// ShutdownTimeout bounds how long the daemon waits for in-flight calls
	// after SIGTERM before it cancels them. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// Log configures the daemon's log.
	Log Log `yaml:"log"`
	// Rabbit holds the options of oslo.messaging's RabbitMQ driver that the
	// file (or OsloConfigFile) sets, by their names in the
	// [oslo_messaging_rabbit] group, each value written as in an oslo
	// config file (see transport.RabbitOptions). The others have oslo's
	// defaults.
	Rabbit map[string]string `yaml:"rabbit"`

	// Tenants are the resource limits and permissions that modules run
	// under, by name. A tenant named "default" always exists.
	Tenants map[string]*Tenant `yaml:"tenants"`
	// Modules are the wasm modules the daemon serves, in file order.
	Modules []Module `yaml:"modules"`

	// file is the name given to Load or Parse, for messages.
	file string
	// rabbitFrom says where each option of Rabbit was set.
	rabbitFrom map[string]string
	// loadWarnings and optionWarnings are what loading and Validate
	// accepted with a warning.
	loadWarnings   []Problem
	optionWarnings []string
	// lines maps key paths to the lines they were read from.
	lines map[string]int
}

// Log levels and formats.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"

	FormatText = "text"
	FormatJSON = "json"
)

// Log configures the daemon's log, written to stderr.
type Log struct {
	// Level is the least severe level logged: debug, info, warn or error.
	// Default info.
	Level string `yaml:"level"`
	// Format is text (logfmt-like lines) or json (one object per line).
	// Default text.
	Format string `yaml:"format"`
}

// Tenant is a set of limits and permissions modules run under. Tenants do
// not inherit from one another: each key a tenant omits has the built-in
// default.
type Tenant struct {
	// Name is the tenant's key in the tenants map.
	Name string `yaml:"-"`
	// MemoryLimit caps one instance's linear memory, a multiple of 64KiB
	// from 64KiB to 4GiB. Default 64MiB.
	MemoryLimit Size `yaml:"memory_limit"`
	// CallTimeout bounds one call (or the caller's timeout when shorter).
	// Default 30s.
	CallTimeout Duration `yaml:"call_timeout"`
	// MaxInstances bounds the instances of one module of this tenant that
	// exist at once. Default 8.
	MaxInstances int `yaml:"max_instances"`
	// MaxResultSize caps the CBOR result of one call. Default 4MiB.
	MaxResultSize Size `yaml:"max_result_size"`
	// StackLimit caps the call stack of one call, counted as the host
	// counts frames (see host/wasm's stack.go), from 64KiB to 256MiB.
	// Default 4MiB.
	StackLimit Size `yaml:"stack_limit"`
	// MaxConcurrency bounds the calls and notifications of all the
	// tenant's modules that run at once, so that one tenant cannot take
	// every executor thread. Default: MaxInstances.
	MaxConcurrency int `yaml:"max_concurrency"`
	// CPUNice is how much nicer (lower in CPU priority) than the daemon
	// the threads running the tenant's guests are, 0 to 19: with more,
	// the kernel gives a guest that computes without end only the CPU the
	// daemon and other tenants leave. Default 0 (the daemon's priority).
	CPUNice int `yaml:"cpu_nice"`
	// MaxHops bounds chains of calls and casts: a request from outside is
	// hop 0, and what a guest sends while serving hop h is hop h+1, which
	// is refused past MaxHops. Default 4.
	MaxHops int `yaml:"max_hops"`
	// MaxSendsPerRequest bounds the calls and casts a guest makes while it
	// serves one request or notification. Default 16.
	MaxSendsPerRequest int `yaml:"max_sends_per_request"`
	// RPCTargets are the targets the tenant's guests may call and cast to.
	// Default none.
	RPCTargets []RPCTarget `yaml:"rpc_targets"`
	// NotificationTopics are the topics the tenant's guests may emit
	// notifications to; "*" allows any. Default none.
	NotificationTopics []string `yaml:"notification_topics"`
	// ContextHiddenKeys are request context keys removed from the context
	// of every call and notification the tenant's guests handle; the host
	// itself still has them. Default [DefaultContextHiddenKeys]; an empty
	// list hides nothing, as a Python endpoint sees the context.
	ContextHiddenKeys []string `yaml:"context_hidden_keys"`

	// The budgets below are shared by all the tenant's modules and
	// instances; a rate of 0 is no limit.

	// LogRate is the bytes of guest log lines (log import, stdout,
	// stderr) written a second; lines over it are dropped and counted.
	// Default 256KiB.
	LogRate Size `yaml:"log_rate"`
	// LogBurst is the bytes of guest log lines written at once, at least
	// 8KiB (the longest line). Default 1MiB.
	LogBurst Size `yaml:"log_burst"`
	// HostCallRate is the host calls (call, cast, notify) a second; one
	// over it is refused with a RateLimitExceeded exception. Default 1000.
	HostCallRate int `yaml:"host_call_rate"`
	// HostCallBurst is the host calls at once. Default 1000.
	HostCallBurst int `yaml:"host_call_burst"`
	// NotificationRate is the notifications a second; one over it is
	// refused with a RateLimitExceeded exception. Default 100.
	NotificationRate int `yaml:"notification_rate"`
	// NotificationBurst is the notifications at once. Default 200.
	NotificationBurst int `yaml:"notification_burst"`
	// MaxNotificationSize caps the CBOR payload of one notification; a
	// larger one is refused with a ValueError. Default 256KiB.
	MaxNotificationSize Size `yaml:"max_notification_size"`
	// PublishRate is the bytes a second the tenant's guests send to the
	// broker (call and cast requests, notification payloads); a message
	// over it is refused with a RateLimitExceeded exception. Default 16MiB.
	PublishRate Size `yaml:"publish_rate"`
	// PublishBurst is the bytes at once, and so the largest message; a
	// larger one is refused with a ValueError. Default 64MiB.
	PublishBurst Size `yaml:"publish_burst"`
	// GuestLogLevel is the least severe guest log line kept (debug, info,
	// warn, error); the daemon's log.level applies too. Default debug.
	GuestLogLevel string `yaml:"guest_log_level"`
	// GuestLogMaxLevel is the most severe level a guest line is written
	// at: a line above it is written at it. Default error.
	GuestLogMaxLevel string `yaml:"guest_log_max_level"`
}

// Budget returns the tenant's budgets, for package budget. Levels that
// are not valid (Validate refuses them) are the defaults.
func (t *Tenant) Budget() budget.Config {
	return budget.Config{
		LogRate: int64(t.LogRate), LogBurst: int64(t.LogBurst),
		HostCallRate: int64(t.HostCallRate), HostCallBurst: int64(t.HostCallBurst),
		NotificationRate: int64(t.NotificationRate), NotificationBurst: int64(t.NotificationBurst),
		MaxNotificationSize: int64(t.MaxNotificationSize),
		PublishRate:         int64(t.PublishRate), PublishBurst: int64(t.PublishBurst),
		LogLevel:    slogLevel(t.GuestLogLevel, budget.DefaultLogLevel),
		LogMaxLevel: slogLevel(t.GuestLogMaxLevel, budget.DefaultLogMaxLevel),
	}
}

// slogLevel returns the slog level of one of the log levels, or def.
func slogLevel(level string, def slog.Level) slog.Level {
	switch level {
	case LevelDebug:
		return slog.LevelDebug
	case LevelInfo:
		return slog.LevelInfo
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	}
	return def
}

// Module is one wasm module the daemon serves: an RPC server on its topic,
// a notification listener on its notification topics, or both.
type Module struct {
	// Name identifies the module in logs, metrics and the admin API:
	// [a-z0-9_-]+, unique.
	Name string `yaml:"name"`
	// Versions are the module's files. The file's `path` and `sha256`
	// keys fill in one version; `versions` lists several, served side by
	// side (each declares its RPC version in its manifest).
	Versions []ModuleFile `yaml:"versions"`
	// Topic is the RPC target topic; empty when the module only handles
	// notifications.
	Topic string `yaml:"topic,omitempty"`
	// Server is the Target.server the module serves; Parse fills in
	// Config.Server when the file names none.
	Server string `yaml:"server"`
	// Exchange is the exchange of the module's RPC target and
	// notification listener; Parse fills in Config.ControlExchange.
	Exchange string `yaml:"exchange"`
	// Tenant names the tenant the module runs under; default "default".
	Tenant string `yaml:"tenant"`
	// NotificationTopics are the topics the module listens to for
	// notifications.
	NotificationTopics []string `yaml:"notification_topics,omitempty"`
	// NotificationPool is the listener pool (oslo's pool): listeners in
	// different pools each get every notification, those in one pool share
	// them. Empty: no pool.
	NotificationPool string `yaml:"notification_pool,omitempty"`
	// NotificationAllowRequeue lets the module's notification handlers
	// have a notification delivered again (by returning "requeue" or by
	// failing), as oslo's allow_requeue; by default every notification is
	// acknowledged once handled, as oslo's get_notification_listener does.
	NotificationAllowRequeue bool `yaml:"notification_allow_requeue,omitempty"`
}

// ModuleFile is one version of a module's wasm file.
type ModuleFile struct {
	// Path is the .wasm file; Parse resolves a relative path against the
	// config file's directory and makes it absolute.
	Path string `yaml:"path"`
	// SHA256 optionally pins the file's content: 64 hex digits, lower
	// case after Parse.
	SHA256 string `yaml:"sha256,omitempty"`
}

// Default returns a Config with every default filled in except those that
// depend on the machine (Server, CacheDir) and TransportURL, and with the
// implicit "default" tenant.
func Default() *Config {
	t := NewTenant(DefaultTenant)
	return &Config{
		ControlExchange: DefaultControlExchange,
		AdminListen:     DefaultAdminListen,
		Admin:           defaultAdmin(),
		ExecutorThreads: DefaultExecutorThreads,
		ShutdownTimeout: DefaultShutdownTimeout,
		MaxModuleSize:   DefaultMaxModuleSize,
		Log:             Log{Level: LevelInfo, Format: FormatText},
		Rabbit:          map[string]string{},
		Tenants:         map[string]*Tenant{DefaultTenant: t},
	}
}

// NewTenant returns a tenant with the default limits and no permissions.
func NewTenant(name string) *Tenant {
	return &Tenant{
		Name:           name,
		MemoryLimit:    DefaultMemoryLimit,
		CallTimeout:    DefaultCallTimeout,
		MaxInstances:   DefaultMaxInstances,
		MaxResultSize:  DefaultMaxResultSize,
		StackLimit:     DefaultStackLimit,
		MaxConcurrency: DefaultMaxInstances,

		ContextHiddenKeys:   slices.Clone(DefaultContextHiddenKeys),
		LogRate:             DefaultLogRate,
		LogBurst:            DefaultLogBurst,
		HostCallRate:        DefaultHostCallRate,
		HostCallBurst:       DefaultHostCallBurst,
		NotificationRate:    DefaultNotificationRate,
		NotificationBurst:   DefaultNotificationBurst,
		MaxNotificationSize: DefaultMaxNotificationSize,
		PublishRate:         DefaultPublishRate,
		PublishBurst:        DefaultPublishBurst,
		GuestLogLevel:       DefaultGuestLogLevel,
		GuestLogMaxLevel:    DefaultGuestLogMaxLevel,
		MaxHops:             DefaultMaxHops,
		MaxSendsPerRequest:  DefaultMaxSendsPerRequest,
	}
}

// Warnings returns what loading and validating accepted but found
// questionable, such as a rabbit option that oslo.messaging 18.1.0
// removed, or an unknown option in OsloConfigFile; the daemon logs them at
// start and `wasmrpcd check` prints them.
func (c *Config) Warnings() []string {
	var out []string
	for _, p := range c.loadWarnings {
		out = append(out, p.format(c.file))
	}
	return append(out, c.optionWarnings...)
}

// Module returns the module named name, or nil.
func (c *Config) Module(name string) *Module {
	for i := range c.Modules {
		if c.Modules[i].Name == name {
			return &c.Modules[i]
		}
	}
	return nil
}

// Tenant returns the tenant named name, or nil.
func (c *Config) Tenant(name string) *Tenant {
	return c.Tenants[name]
}

// TenantNames returns the tenants' names, sorted.
func (c *Config) TenantNames() []string {
	names := make([]string, 0, len(c.Tenants))
	for n := range c.Tenants {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// File returns the name of the file the Config was loaded from, as given
// to Load or Parse; empty for a Config built in code.
func (c *Config) File() string { return c.file }

// Dir returns the directory relative paths in the file resolve against.
func (c *Config) Dir() string { return dirOf(c.file) }

// Line returns the line of the file a key path (as in Problem.Path) was
// read from, or 0.
func (c *Config) Line(path string) int { return c.lines[path] }
