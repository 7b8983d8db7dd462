package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// given records which keys whose default depends on their absence the
// file set.
type given struct {
	server          bool
	cacheDir        bool
	cacheKeyFile    bool
	controlExchange bool
}

// present reports whether a key's value is set: not null, aliases
// followed.
func present(n *yaml.Node) bool {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode && hops < 100; hops++ {
		n = n.Alias
	}
	return !isNull(n)
}

// config decodes the top-level mapping into c, which holds the defaults.
// It reports whether n was a mapping (or empty).
func (d *decoder) config(n *yaml.Node, c *Config) (given, bool) {
	var g given
	if n == nil {
		return g, true
	}
	ok := d.mapping(n, "", []field{
		{"transport_url", func(v *yaml.Node, p string) { d.str(v, p, &c.TransportURL) }},
		{"transport_url_file", func(v *yaml.Node, p string) { d.str(v, p, &c.TransportURLFile) }},
		{"transport_url_env", func(v *yaml.Node, p string) { d.str(v, p, &c.TransportURLEnv) }},
		{"oslo_config_file", func(v *yaml.Node, p string) { d.str(v, p, &c.OsloConfigFile) }},
		{"control_exchange", func(v *yaml.Node, p string) { g.controlExchange = present(v); d.str(v, p, &c.ControlExchange) }},
		{"server", func(v *yaml.Node, p string) { g.server = present(v); d.str(v, p, &c.Server) }},
		{"admin_listen", func(v *yaml.Node, p string) { d.str(v, p, &c.AdminListen) }},
		{"admin", func(v *yaml.Node, p string) { d.admin(v, p, &c.Admin) }},
		{"cache_dir", func(v *yaml.Node, p string) { g.cacheDir = present(v); d.str(v, p, &c.CacheDir) }},
		{"cache_key_file", func(v *yaml.Node, p string) { g.cacheKeyFile = present(v); d.str(v, p, &c.CacheKeyFile) }},
		{"max_module_size", func(v *yaml.Node, p string) { d.size(v, p, &c.MaxModuleSize) }},
		{"executor_threads", func(v *yaml.Node, p string) { d.integer(v, p, &c.ExecutorThreads) }},
		{"shutdown_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &c.ShutdownTimeout) }},
		{"log", func(v *yaml.Node, p string) { d.log(v, p, &c.Log) }},
		{"rabbit", func(v *yaml.Node, p string) { d.rabbit(v, p, c) }},
		{"tenants", func(v *yaml.Node, p string) { d.tenants(v, p, c) }},
		{"modules", func(v *yaml.Node, p string) { d.modules(v, p, c) }},
	})
	return g, ok
}

func (d *decoder) log(n *yaml.Node, path string, l *Log) {
	d.mapping(n, path, []field{
		{"level", func(v *yaml.Node, p string) { d.str(v, p, &l.Level) }},
		{"format", func(v *yaml.Node, p string) { d.str(v, p, &l.Format) }},
	})
}

// rabbit decodes the rabbit section: the options of transport.RabbitOptions
// under their oslo names, each value turned into the form an oslo config
// file writes it (seconds may be durations here, byte counts sizes).
func (d *decoder) rabbit(n *yaml.Node, path string, c *Config) {
	opts := transport.RabbitOptions()
	fields := make([]field, 0, len(opts))
	for _, opt := range opts {
		fields = append(fields, field{opt.Name, func(v *yaml.Node, p string) {
			s, ok := d.scalar(v, p, "a scalar")
			if !ok {
				return
			}
			value, err := osloValue(opt, s.Value)
			if err == nil {
				err = opt.Check(value)
			}
			if err != nil {
				d.fail(s, p, "%v", err)
				return
			}
			c.Rabbit[opt.Name] = value
		}})
	}
	d.mapping(n, path, fields)
}

// osloValue turns a value of the rabbit section into oslo's form: a
// duration ("30s", "1m") for an option counted in seconds, a size
// ("64MiB") for one counted in bytes.
func osloValue(opt transport.RabbitOption, v string) (string, error) {
	v = strings.TrimSpace(v)
	hasUnit := v != "" && strings.ContainsAny(v[len(v)-1:], "smhBiK")
	switch {
	case opt.Type == "boolean":
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			return "true", nil
		case "false", "no", "off", "0":
			return "false", nil
		}
		return "", fmt.Errorf("want true or false, got %q", clip(v))
	case !hasUnit:
		return v, nil
	case opt.Type == "seconds":
		d, err := time.ParseDuration(v)
		if err != nil {
			return "", fmt.Errorf("want whole seconds, such as 60 or 60s: %v", err)
		}
		if d%time.Second != 0 {
			return "", fmt.Errorf("%s is not a whole number of seconds", v)
		}
		return strconv.FormatInt(int64(d/time.Second), 10), nil
	case opt.Type == "float":
		d, err := time.ParseDuration(v)
		if err != nil {
			return "", fmt.Errorf("want seconds, such as 1.5 or 1500ms: %v", err)
		}
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64), nil
	case opt.Type == "integer" && strings.HasSuffix(opt.Name, "_bytes"):
		n, err := ParseSize(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(int64(n), 10), nil
	}
	return v, nil
}

func (d *decoder) tenants(n *yaml.Node, path string, c *Config) {
	d.namedMappings(n, path, func(name string, v *yaml.Node, p string) {
		t := NewTenant(name)
		concurrency := false
		d.mapping(v, p, []field{
			{"memory_limit", func(v *yaml.Node, p string) { d.size(v, p, &t.MemoryLimit) }},
			{"call_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &t.CallTimeout) }},
			{"max_instances", func(v *yaml.Node, p string) { d.integer(v, p, &t.MaxInstances) }},
			{"max_result_size", func(v *yaml.Node, p string) { d.size(v, p, &t.MaxResultSize) }},
			{"stack_limit", func(v *yaml.Node, p string) { d.size(v, p, &t.StackLimit) }},
			{"max_concurrency", func(v *yaml.Node, p string) {
				concurrency = present(v)
				d.integer(v, p, &t.MaxConcurrency)
			}},
			{"cpu_nice", func(v *yaml.Node, p string) { d.integer(v, p, &t.CPUNice) }},
			{"max_hops", func(v *yaml.Node, p string) { d.integer(v, p, &t.MaxHops) }},
			{"max_sends_per_request", func(v *yaml.Node, p string) { d.integer(v, p, &t.MaxSendsPerRequest) }},
			{"rpc_targets", func(v *yaml.Node, p string) { d.rpcTargets(v, p, &t.RPCTargets) }},
			{"notification_topics", func(v *yaml.Node, p string) { d.stringList(v, p, &t.NotificationTopics) }},
			{"context_hidden_keys", func(v *yaml.Node, p string) {
				if present(v) { // null keeps the default; [] hides nothing
					t.ContextHiddenKeys = []string{}
					d.stringList(v, p, &t.ContextHiddenKeys)
				}
			}},
			{"log_rate", func(v *yaml.Node, p string) { d.size(v, p, &t.LogRate) }},
			{"log_burst", func(v *yaml.Node, p string) { d.size(v, p, &t.LogBurst) }},
			{"host_call_rate", func(v *yaml.Node, p string) { d.integer(v, p, &t.HostCallRate) }},
			{"host_call_burst", func(v *yaml.Node, p string) { d.integer(v, p, &t.HostCallBurst) }},
			{"notification_rate", func(v *yaml.Node, p string) { d.integer(v, p, &t.NotificationRate) }},
			{"notification_burst", func(v *yaml.Node, p string) { d.integer(v, p, &t.NotificationBurst) }},
			{"max_notification_size", func(v *yaml.Node, p string) { d.size(v, p, &t.MaxNotificationSize) }},
			{"publish_rate", func(v *yaml.Node, p string) { d.size(v, p, &t.PublishRate) }},
			{"publish_burst", func(v *yaml.Node, p string) { d.size(v, p, &t.PublishBurst) }},
			{"guest_log_level", func(v *yaml.Node, p string) { d.str(v, p, &t.GuestLogLevel) }},
			{"guest_log_max_level", func(v *yaml.Node, p string) { d.str(v, p, &t.GuestLogMaxLevel) }},
		})
		if !concurrency {
			t.MaxConcurrency = t.MaxInstances
		}
		c.Tenants[name] = t
	})
}

func (d *decoder) rpcTargets(n *yaml.Node, path string, dst *[]RPCTarget) {
	var rules []string
	d.stringList(n, path, &rules)
	for i, s := range rules {
		p := index(path, i)
		r, err := ParseRPCTarget(s)
		if err != nil {
			d.problems = append(d.problems, Problem{Line: d.lines[p], Path: p, Message: err.Error()})
			continue
		}
		*dst = append(*dst, r)
	}
}

func (d *decoder) modules(n *yaml.Node, path string, c *Config) {
	d.list(n, path, func(_ int, v *yaml.Node, p string) {
		var m Module
		var file ModuleFile
		var hasPath, hasSHA, hasVersions bool
		ok := d.mapping(v, p, []field{
			{"name", func(v *yaml.Node, p string) { d.str(v, p, &m.Name) }},
			{"path", func(v *yaml.Node, p string) { hasPath = present(v); d.str(v, p, &file.Path) }},
			{"sha256", func(v *yaml.Node, p string) { hasSHA = present(v); d.str(v, p, &file.SHA256) }},
			{"versions", func(v *yaml.Node, p string) { hasVersions = present(v); d.versions(v, p, &m.Versions) }},
			{"topic", func(v *yaml.Node, p string) { d.str(v, p, &m.Topic) }},
			{"server", func(v *yaml.Node, p string) { d.str(v, p, &m.Server) }},
			{"exchange", func(v *yaml.Node, p string) { d.str(v, p, &m.Exchange) }},
			{"tenant", func(v *yaml.Node, p string) { d.str(v, p, &m.Tenant) }},
			{"notification_topics", func(v *yaml.Node, p string) { d.stringList(v, p, &m.NotificationTopics) }},
			{"notification_pool", func(v *yaml.Node, p string) { d.str(v, p, &m.NotificationPool) }},
			{"notification_allow_requeue", func(v *yaml.Node, p string) { d.boolean(v, p, &m.NotificationAllowRequeue) }},
		})
		if ok && isNull(v) {
			d.fail(v, p, "want a module (name, path, topic, …), got null")
		}
		switch {
		case hasVersions && hasPath:
			d.problems = append(d.problems, Problem{Line: d.lines[p+".path"], Path: p + ".path", Message: "give either path or versions, not both"})
		case hasVersions && hasSHA:
			d.problems = append(d.problems, Problem{Line: d.lines[p+".sha256"], Path: p + ".sha256", Message: "goes with path; with versions, give each version its own sha256"})
		case hasPath || hasSHA:
			if hasPath {
				m.Versions = []ModuleFile{file}
			}
		}
		c.Modules = append(c.Modules, m)
	})
}

func (d *decoder) versions(n *yaml.Node, path string, dst *[]ModuleFile) {
	d.list(n, path, func(_ int, v *yaml.Node, p string) {
		var f ModuleFile
		d.mapping(v, p, []field{
			{"path", func(v *yaml.Node, p string) { d.str(v, p, &f.Path) }},
			{"sha256", func(v *yaml.Node, p string) { d.str(v, p, &f.SHA256) }},
		})
		*dst = append(*dst, f)
	})
}
