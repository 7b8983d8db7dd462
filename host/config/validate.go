package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// namePattern is what module and tenant names match.
var namePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Enumerations of the string options.
var (
	logLevels  = []string{LevelDebug, LevelInfo, LevelWarn, LevelError}
	logFormats = []string{FormatText, FormatJSON}
)

// Limits of the numeric options.
const (
	maxMemoryLimit = 4 * GiB
	maxResultSize  = 4*GiB - 1
	// maxGuestLine is the longest guest log line (host/wasm's maxLogLine).
	maxGuestLine  = 8 * KiB
	minStackLimit = 64 * KiB
	maxStackLimit = 256 * MiB
)

// Validate checks every value and every reference between them, and
// returns an *Error listing all problems, or nil. Load and Parse run it;
// a Config built in code, or changed after loading, is checked with it.
// It expects the defaults filled in (see Default): a module's server,
// exchange and tenant, and a rule's exchange, must not be empty.
func (c *Config) Validate() error {
	v := &validator{c: c}
	c.optionWarnings = nil
	v.top()
	v.broker()
	for _, name := range c.TenantNames() {
		v.tenant(name, c.Tenants[name])
	}
	v.modules()
	return newError(c.file, v.problems)
}

// validator collects the problems of one Validate.
type validator struct {
	c        *Config
	problems []Problem
}

// add records a problem at path, on the line of path or of the nearest
// key above it that the file has.
func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: v.line(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := v.c.lines[p]; ok {
			return l
		}
	}
	return 0
}

// parent strips the last key or index from a path.
func parent(p string) string {
	if strings.HasSuffix(p, "]") {
		return p[:strings.LastIndexByte(p, '[')]
	}
	if strings.HasSuffix(p, `"`) {
		if i := strings.LastIndex(p, `."`); i >= 0 {
			return p[:i]
		}
	}
	i := strings.LastIndexByte(p, '.')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// name checks an exchange, topic, server or pool name: not empty, no white
// space or control characters.
func (v *validator) name(path, s string) bool {
	if s == "" {
		v.add(path, "must not be empty")
		return false
	}
	if r, bad := badRune(s); bad {
		v.add(path, "%q contains %q", clip(s), r)
		return false
	}
	return true
}

// oneOf checks an enumerated string option.
func (v *validator) oneOf(path, what, s string, choices []string) {
	if !slices.Contains(choices, s) {
		v.add(path, "unknown %s %q%s", what, clip(s), hint(s, choices, "want one of "))
	}
}

func (v *validator) atLeast(path string, n, least int) {
	if n < least {
		v.add(path, "must be at least %d, got %d", least, n)
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be positive, got %s", d)
	}
}

func (v *validator) top() {
	c := v.c
	v.transportURL()
	v.name("control_exchange", c.ControlExchange)
	v.name("server", c.Server)
	v.admin()
	if c.MaxModuleSize < 1 {
		v.add("max_module_size", "must be at least 1B, got %s", c.MaxModuleSize)
	}
	v.atLeast("executor_threads", c.ExecutorThreads, 1)
	v.positive("shutdown_timeout", c.ShutdownTimeout)
	v.oneOf("log.level", "level", c.Log.Level, logLevels)
	v.oneOf("log.format", "format", c.Log.Format, logFormats)
}

// transportURL checks the scheme only, and never quotes the URL: it may
// hold a password.
func (v *validator) transportURL() {
	u := v.c.TransportURL
	if strings.TrimSpace(u) == "" {
		v.add("transport_url", "required, such as rabbit://guest:guest@127.0.0.1:5672/")
		return
	}
	scheme, _, ok := strings.Cut(u, "://")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "@:/ ") {
		v.add("transport_url", "want rabbit://[user:pass@]host[:port][,[user:pass@]host2[:port]]/[vhost]")
		return
	}
	switch strings.ToLower(scheme) {
	case "rabbit", "amqp":
	default:
		v.add("transport_url", "unsupported scheme %q (want rabbit:// or amqp://)", clip(scheme))
	}
}

func (v *validator) listen(path, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "want host:port, such as 127.0.0.1:9464, got %q", clip(addr))
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		v.add(path, "port %q is not a number from 0 to 65535", clip(port))
	}
}

func (v *validator) tenant(name string, t *Tenant) {
	p := join("tenants", name)
	if !namePattern.MatchString(name) {
		v.add(p, "tenant name %q must be 1 to 64 of a-z, 0-9, _ and -", clip(name))
	}
	if t == nil {
		v.add(p, "tenant is nil")
		return
	}
	if t.Name != name {
		v.add(p, "Name is %q, not its key", clip(t.Name))
	}
	switch m := t.MemoryLimit; {
	case m < WasmPage || m > maxMemoryLimit:
		v.add(p+".memory_limit", "must be from 64KiB (one wasm page) to 4GiB, got %s", m)
	case m%WasmPage != 0:
		v.add(p+".memory_limit", "must be a multiple of 64KiB (the wasm page), got %s", m)
	}
	v.positive(p+".call_timeout", t.CallTimeout)
	v.atLeast(p+".max_instances", t.MaxInstances, 1)
	if t.MaxResultSize < 1 || t.MaxResultSize > maxResultSize {
		v.add(p+".max_result_size", "must be from 1B to 4GiB-1B, got %s", t.MaxResultSize)
	}
	if t.StackLimit < minStackLimit || t.StackLimit > maxStackLimit {
		v.add(p+".stack_limit", "must be from 64KiB to 256MiB, got %s", t.StackLimit)
	}
	if _, set := v.c.lines[p+".max_concurrency"]; set || t.MaxInstances >= 1 {
		// Unset, it follows max_instances: report only max_instances.
		v.atLeast(p+".max_concurrency", t.MaxConcurrency, 1)
	}
	if t.CPUNice < 0 || t.CPUNice > 19 {
		v.add(p+".cpu_nice", "must be from 0 (the daemon's priority) to 19, got %d", t.CPUNice)
	}
	if t.MaxHops < 1 || t.MaxHops > maxMaxHops {
		v.add(p+".max_hops", "must be from 1 to %d, got %d", maxMaxHops, t.MaxHops)
	}
	v.atLeast(p+".max_sends_per_request", t.MaxSendsPerRequest, 1)
	for i, r := range t.RPCTargets {
		rp := index(p+".rpc_targets", i)
		if r.Exchange == "" {
			v.add(rp, "exchange must not be empty (\"*\" for any)")
		} else if c, bad := badRune(r.Exchange + r.Topic + r.Server); bad {
			v.add(rp, "target %q contains %q", clip(r.String()), c)
		}
		if r.Topic == "" {
			v.add(rp, "topic must not be empty (\"*\" for any)")
		}
	}
	for i, topic := range t.NotificationTopics {
		v.name(index(p+".notification_topics", i), topic)
	}
	for i, key := range t.ContextHiddenKeys {
		kp := index(p+".context_hidden_keys", i)
		switch {
		case key == "":
			v.add(kp, "must not be empty")
		case strings.HasPrefix(key, "_context_") && len(key) > len("_context_"):
			v.add(kp, "%q: name the key as the context has it, without the wire's prefix (write %q)", clip(key), key[len("_context_"):])
		case slices.Contains(t.ContextHiddenKeys[:i], key):
			v.add(kp, "key %q is listed twice", clip(key))
		}
	}
	v.budgets(p, t)
}

func (v *validator) modules() {
	c := v.c
	names := map[string]int{}
	rpc := map[[2]string]int{}
	listeners := map[[3]string]int{}
	tenants := c.TenantNames()
	for i := range c.Modules {
		m := &c.Modules[i]
		p := index("modules", i)
		switch {
		case m.Name == "":
			v.add(p+".name", "required")
		case !namePattern.MatchString(m.Name):
			v.add(p+".name", "%q must be 1 to 64 of a-z, 0-9, _ and -", clip(m.Name))
		default:
			if j, dup := names[m.Name]; dup {
				v.add(p+".name", "%q is already the name of %s", m.Name, v.where(index("modules", j)))
			} else {
				names[m.Name] = i
			}
		}
		v.files(i, m)
		if m.Topic == "" && len(m.NotificationTopics) == 0 {
			v.add(p+".topic", "required unless notification_topics is given")
		}
		v.name(p+".server", m.Server)
		exchangeOK := v.name(p+".exchange", m.Exchange)
		if m.Tenant == "" {
			v.add(p+".tenant", "must not be empty")
		} else if c.Tenant(m.Tenant) == nil {
			v.add(p+".tenant", "unknown tenant %q%s", clip(m.Tenant), hint(m.Tenant, tenants, "tenants are: "))
		}
		if m.Topic != "" && v.name(p+".topic", m.Topic) && exchangeOK {
			key := [2]string{m.Exchange, m.Topic}
			if j, dup := rpc[key]; dup {
				v.add(p+".topic", "topic %q on exchange %q is already served by module %q (%s); serve versions of one module with versions", m.Topic, m.Exchange, c.Modules[j].Name, v.where(index("modules", j)))
			} else {
				rpc[key] = i
			}
		}
		if m.NotificationAllowRequeue && len(m.NotificationTopics) == 0 {
			v.add(p+".notification_allow_requeue", "needs notification_topics")
		}
		if m.NotificationPool != "" {
			if len(m.NotificationTopics) == 0 {
				v.add(p+".notification_pool", "needs notification_topics")
			}
			v.name(p+".notification_pool", m.NotificationPool)
		}
		seen := map[string]int{}
		for k, topic := range m.NotificationTopics {
			tp := index(p+".notification_topics", k)
			if !v.name(tp, topic) {
				continue
			}
			if j, dup := seen[topic]; dup {
				v.add(tp, "topic %q is listed twice (also %s)", topic, v.where(index(p+".notification_topics", j)))
				continue
			}
			seen[topic] = k
			key := [3]string{m.Exchange, topic, m.NotificationPool}
			if j, dup := listeners[key]; dup && exchangeOK {
				pool := "without a notification_pool"
				if m.NotificationPool != "" {
					pool = fmt.Sprintf("in pool %q", m.NotificationPool)
				}
				v.add(tp, "module %q (%s) already listens to topic %q %s; listeners in one pool share the notifications, so give each its own notification_pool", c.Modules[j].Name, v.where(index("modules", j)), topic, pool)
			} else if !dup {
				listeners[key] = i
			}
		}
	}
}

// files checks a module's versions. A module written with path and sha256
// is reported under those keys, one with versions under versions[i].
func (v *validator) files(i int, m *Module) {
	p := index("modules", i)
	_, hasVersions := v.c.lines[p+".versions"]
	if len(m.Versions) == 0 {
		if hasVersions {
			v.add(p+".versions", "must list at least one {path, sha256}")
		} else {
			v.add(p+".path", "required (or versions, a list of {path, sha256})")
		}
		return
	}
	paths := map[string]int{}
	for j, f := range m.Versions {
		fp := v.filePath(i, j)
		if f.Path == "" {
			v.add(fp+".path", "must not be empty")
		} else if k, dup := paths[f.Path]; dup {
			v.add(fp+".path", "same file as %s", index("versions", k))
		} else {
			paths[f.Path] = j
		}
		if f.SHA256 != "" {
			v.sha256(fp+".sha256", f.SHA256)
		}
	}
}

func (v *validator) sha256(path, s string) {
	if len(s) != 64 {
		v.add(path, "want 64 hex digits, got %d characters", len(s))
		return
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			v.add(path, "want 64 hex digits, got %q", r)
			return
		}
	}
}

// filePath names version j of module i as the file wrote it:
// "modules[0]" for a module written with path and sha256,
// "modules[0].versions[1]" otherwise.
func (v *validator) filePath(i, j int) string {
	p := index("modules", i)
	_, hasPath := v.c.lines[p+".path"]
	_, hasVersions := v.c.lines[p+".versions"]
	if hasPath && !hasVersions {
		return p
	}
	return index(p+".versions", j)
}

// where names a path and, when known, its line: "modules[0], line 9".
func (v *validator) where(path string) string {
	if l := v.line(path); l > 0 {
		return fmt.Sprintf("%s, line %d", path, l)
	}
	return path
}

// minPublishBurst is the smallest publish_burst: a few requests of a
// service's usual size.
const minPublishBurst = 64 * KiB

// budgets checks a tenant's budgets: rates of 0 or more (0 is no limit),
// bursts of at least one (a log burst of at least the longest line), a
// notification payload cap of 1B to 4GiB-1B, levels in order.
func (v *validator) budgets(p string, t *Tenant) {
	if t.LogRate < 0 {
		v.add(p+".log_rate", "must be 0 (no limit) or more bytes a second, got %s", t.LogRate)
	}
	if t.LogRate > 0 && t.LogBurst < maxGuestLine {
		v.add(p+".log_burst", "must be at least %s (the longest guest log line), got %s", maxGuestLine, t.LogBurst)
	}
	for _, b := range []struct {
		key         string
		rate, burst int
	}{
		{"host_call", t.HostCallRate, t.HostCallBurst},
		{"notification", t.NotificationRate, t.NotificationBurst},
	} {
		if b.rate < 0 {
			v.add(p+"."+b.key+"_rate", "must be 0 (no limit) or more a second, got %d", b.rate)
		}
		if b.rate > 0 {
			v.atLeast(p+"."+b.key+"_burst", b.burst, 1)
		}
	}
	if t.MaxNotificationSize < 1 || t.MaxNotificationSize > maxResultSize {
		v.add(p+".max_notification_size", "must be from 1B to 4GiB-1B, got %s", t.MaxNotificationSize)
	}
	if t.PublishRate < 0 {
		v.add(p+".publish_rate", "must be 0 (no limit) or more bytes a second, got %s", t.PublishRate)
	}
	if t.PublishRate > 0 && t.PublishBurst < minPublishBurst {
		v.add(p+".publish_burst", "must be at least %s (the largest message a guest may send), got %s", minPublishBurst, t.PublishBurst)
	}
	v.oneOf(p+".guest_log_level", "level", t.GuestLogLevel, logLevels)
	v.oneOf(p+".guest_log_max_level", "level", t.GuestLogMaxLevel, logLevels)
	if lo, hi := slices.Index(logLevels, t.GuestLogLevel), slices.Index(logLevels, t.GuestLogMaxLevel); lo >= 0 && hi >= 0 && hi < lo {
		v.add(p+".guest_log_max_level", "%s is below guest_log_level %s: no guest line would be kept", t.GuestLogMaxLevel, t.GuestLogLevel)
	}
}
