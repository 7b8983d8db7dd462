package transport

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/compression"
)

// RabbitOption is one option of oslo.messaging's [oslo_messaging_rabbit]
// group, as an oslo config file and a transport URL's query write it. The
// table of RabbitOptions is the one place an option is declared: the URL
// query, the daemon's config file (its rabbit section and an imported
// oslo config file) and docs/CONFIG.md all follow it.
type RabbitOption struct {
	// Name is oslo's name.
	Name string
	// Type is how a value is written: "boolean", "integer", "seconds" (a
	// whole number), "float" (seconds), "string", "path", or the choices
	// separated by " | ".
	Type string
	// Default is oslo.messaging 18.1.0's default as an oslo config file
	// writes it; "" for none.
	Default string
	// Help says what the option does in wasmrpcd.
	Help string
	// Status is whether the option takes effect.
	Status OptionStatus
	// ReplacedBy names the option that replaced a Removed one ("" when
	// none did): its value is applied to that option.
	ReplacedBy string

	set func(o *Options, v string) error
}

// OptionStatus is what a RabbitOption does in wasmrpcd.
type OptionStatus int

const (
	// Applied options take effect as in oslo.messaging 18.1.0.
	Applied OptionStatus = iota
	// NoEffect options are accepted, so that an oslo config file loads,
	// and validated, but change nothing here (their Help says why).
	NoEffect
	// Removed options are those of oslo.messaging 14.0.3 that 18.1.0
	// removed or renamed: a value loads, with a warning naming ReplacedBy.
	Removed
)

// Check reports whether v is a value the option takes, without the
// option's name in the error.
func (opt RabbitOption) Check(v string) error {
	var o Options
	return opt.set(&o, v)
}

// RabbitOptions returns the options of the [oslo_messaging_rabbit] group
// in the order docs/CONFIG.md lists them: 18.1.0's, then the removed
// names of 14.0.3.
func RabbitOptions() []RabbitOption { return append([]RabbitOption(nil), rabbitOptions...) }

// LookupRabbitOption returns the option named name.
func LookupRabbitOption(name string) (RabbitOption, bool) {
	o, ok := rabbitIndex[name]
	return o, ok
}

// Set applies one [oslo_messaging_rabbit] option, its value written as in
// an oslo config file or a transport URL's query. It returns a warning
// for an option that 18.1.0 removed or that has no effect when set to
// something other than its default. It does not check the options
// together: Validate does.
func (o *Options) Set(name, value string) (warning string, err error) {
	opt, ok := rabbitIndex[name]
	if !ok {
		return "", fmt.Errorf("%w: no such option %q in group [oslo_messaging_rabbit]", ErrInvalidOption, name)
	}
	if err := opt.set(o, value); err != nil {
		return "", fmt.Errorf("%w: %s=%q: %v", ErrInvalidOption, name, clipValue(value), err)
	}
	switch {
	case opt.Status == Removed && opt.ReplacedBy != "":
		warning = fmt.Sprintf("%s was removed in oslo.messaging 17.0 (18.1.0 ignores it); its value applies to %s, use that name", name, opt.ReplacedBy)
	case opt.Status == Removed:
		warning = fmt.Sprintf("%s was removed in oslo.messaging 17.0 and has no effect", name)
	case opt.Status == NoEffect && !sameValue(opt, value):
		warning = fmt.Sprintf("%s has no effect in wasmrpcd: %s", name, opt.Help)
	}
	return warning, nil
}

// Apply returns o with values (option name to value, as in a transport
// URL's query or an oslo config file) applied over it, in the order of
// their names, then validated. An option the rabbit driver does not know
// is an error, as it is for oslo.messaging's URL query.
func (o Options) Apply(values map[string]string) (Options, []string, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var warnings []string
	for _, k := range keys {
		w, err := o.Set(k, values[k])
		if err != nil {
			return o, warnings, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return o, warnings, o.Validate()
}

// sameValue reports whether v is opt's default.
func sameValue(opt RabbitOption, v string) bool {
	v = strings.TrimSpace(v)
	if opt.Type == "boolean" {
		a, err1 := parseBool(v)
		b, err2 := parseBool(opt.Default)
		return err1 == nil && err2 == nil && a == b
	}
	return v == opt.Default
}

func clipValue(v string) string {
	if len(v) > 64 {
		return v[:64] + "…"
	}
	return v
}

var rabbitIndex = func() map[string]RabbitOption {
	m := make(map[string]RabbitOption, len(rabbitOptions))
	for _, o := range rabbitOptions {
		if _, dup := m[o.Name]; dup {
			panic("transport: rabbit option declared twice: " + o.Name)
		}
		m[o.Name] = o
	}
	return m
}()

// rabbitOptions is the table of RabbitOptions.
var rabbitOptions = []RabbitOption{
	// Topology.
	{Name: "amqp_durable_queues", Type: "boolean", Default: "false",
		Help: "Topic queues and the topic exchange are durable.",
		set:  boolVal(func(o *Options) *bool { return &o.DurableQueues })},
	{Name: "amqp_auto_delete", Type: "boolean", Default: "false",
		Help: "Topic queues and the topic exchange are auto-delete.",
		set:  boolVal(func(o *Options) *bool { return &o.AutoDelete })},
	{Name: "rabbit_ha_queues", Type: "boolean", Default: "false",
		Help: "Queues carry `x-ha-policy: all` (mirrored queues of RabbitMQ before 3.0). Excludes the quorum options.",
		set:  boolVal(func(o *Options) *bool { return &o.HAQueues })},
	{Name: "rabbit_quorum_queue", Type: "boolean", Default: "false",
		Help: "Topic and notification queues are quorum queues (`x-queue-type: quorum`), durable whatever `amqp_durable_queues` says.",
		set:  boolVal(func(o *Options) *bool { return &o.QuorumQueues })},
	{Name: "rabbit_transient_quorum_queue", Type: "boolean", Default: "false",
		Help: "Reply and fanout queues are durable quorum queues (still with `x-expires`), and fanout exchanges are durable.",
		set:  boolVal(func(o *Options) *bool { return &o.TransientQuorumQueue })},
	{Name: "rabbit_stream_fanout", Type: "boolean", Default: "false",
		Help: "Each fanout exchange feeds one durable stream named after it (`x-queue-type: stream`, `x-max-age` from `rabbit_transient_queues_ttl`), which every server of the topic reads from its own offset. Needs `rabbit_transient_quorum_queue` and `rabbit_qos_prefetch_count` > 0.",
		set:  boolVal(func(o *Options) *bool { return &o.StreamFanout })},
	{Name: "rabbit_quorum_delivery_limit", Type: "integer", Default: "0",
		Help: "`x-delivery-limit` of quorum queues; 0 sets none.",
		set:  intVal(func(o *Options) *int { return &o.QuorumDeliveryLimit }, 0, math.MaxInt32)},
	{Name: "rabbit_quorum_max_memory_length", Type: "integer", Default: "0",
		Help: "`x-max-in-memory-length` of quorum queues; 0 sets none.",
		set:  intVal(func(o *Options) *int { return &o.QuorumMaxMemoryLength }, 0, math.MaxInt32)},
	{Name: "rabbit_quorum_max_memory_bytes", Type: "integer", Default: "0",
		Help: "`x-max-in-memory-bytes` of quorum queues; 0 sets none.",
		set:  intVal(func(o *Options) *int { return &o.QuorumMaxMemoryBytes }, 0, math.MaxInt32)},
	{Name: "rabbit_transient_queues_ttl", Type: "seconds", Default: "1800",
		Help: "`x-expires` of reply and fanout queues (`x-max-age` of fanout streams); 0 sets none.",
		set:  secondsVal(func(o *Options) *time.Duration { return &o.TransientQueuesTTL }, 0, math.MaxInt32/1000)},
	{Name: "use_queue_manager", Type: "boolean", Default: "false",
		Help: "Reply and fanout queues are named `<hostname>:<processname>:<n>` after their prefix instead of a random UUID, so a restarted daemon declares the same queues again.",
		set:  boolVal(func(o *Options) *bool { return &o.QueueManager })},
	{Name: "hostname", Type: "string", Default: "",
		Help: "The host name in the queue manager's names; empty means the machine's.",
		set:  strVal(func(o *Options) *string { return &o.Hostname })},
	{Name: "processname", Type: "string", Default: "",
		Help: "The process name in the queue manager's names; empty means the program's file name (`wasmrpcd`). Give each daemon of a host its own.",
		set:  strVal(func(o *Options) *string { return &o.ProcessName })},
	{Name: "kombu_compression", Type: "string", Default: "",
		Help: "Publishes are compressed with this codec (`gzip` or `zlib`, `lzma` or `xz`, `zstd`, `brotli`), marked with the `compression` header, as kombu does. Compressed messages are read whatever this says (`bzip2` too).",
		set:  compressionVal},
	{Name: "rabbit_qos_prefetch_count", Type: "integer", Default: "0",
		Help: "Prefetch count of each consumer; 0 is unlimited.",
		set:  intVal(func(o *Options) *int { return &o.PrefetchCount }, 0, math.MaxUint16)},
	{Name: "direct_mandatory_flag", Type: "boolean", Default: "true",
		Help: "Replies are published mandatory, so that a missing reply queue is noticed and the reply retried. oslo deprecates turning it off.",
		set: func(o *Options, v string) error {
			b, err := parseBool(v)
			o.NoDirectMandatory = !b
			return err
		}},
	{Name: "enable_cancel_on_failover", Type: "boolean", Default: "false",
		Help: "Consumers of classic queues ask for `x-cancel-on-ha-failover`. (RabbitMQ refuses it on quorum queues and streams, where oslo's consumers then fail; wasmrpcd asks only where it is valid.)",
		set:  boolVal(func(o *Options) *bool { return &o.CancelOnFailover })},

	// Connection.
	{Name: "heartbeat_timeout_threshold", Type: "seconds", Default: "60",
		Help: "AMQP heartbeat timeout; 0 disables heartbeats.",
		set:  heartbeatVal},
	{Name: "heartbeat_rate", Type: "integer", Default: "3", Status: NoEffect,
		Help: "How often per timeout Python checks the heartbeat; amqp091-go sends and checks heartbeats on its own schedule (as py-amqp, which ignores it too).",
		set:  intVal(nil, 1, math.MaxInt32)},
	{Name: "kombu_reconnect_delay", Type: "float", Default: "1.0",
		Help: "Pause after a lost connection or channel before reconnecting, 0 to 4.5 seconds.",
		set:  floatSecondsVal(func(o *Options) *time.Duration { return &o.ReconnectDelay }, 4.5, true)},
	{Name: "kombu_reconnect_splay", Type: "float", Default: "0.0",
		Help: "A random pause of up to this many seconds is added to `kombu_reconnect_delay`. (18.1.0 only adds it to its log line.)",
		set:  floatSecondsVal(func(o *Options) *time.Duration { return &o.ReconnectSplay }, math.MaxInt32, false)},
	{Name: "rabbit_retry_interval", Type: "seconds", Default: "1",
		Help: "First pause after a round of failed connection attempts over every host.",
		set:  retryIntervalVal},
	{Name: "rabbit_retry_backoff", Type: "seconds", Default: "2",
		Help: "Added to the pause after each further failed round.",
		set:  secondsVal(func(o *Options) *time.Duration { return &o.RetryBackoff }, 0, math.MaxInt32)},
	{Name: "rabbit_interval_max", Type: "seconds", Default: "30",
		Help: "Longest pause between rounds. (A host that refused the connection is also dialed every 200 ms during a pause.)",
		set:  secondsVal(func(o *Options) *time.Duration { return &o.IntervalMax }, 1, math.MaxInt32)},
	{Name: "kombu_failover_strategy", Type: "round-robin | shuffle", Default: "round-robin",
		Help: "Order in which the hosts of a multi-host transport URL are tried.",
		set:  choiceVal(func(o *Options) *string { return &o.FailoverStrategy }, "round-robin", "shuffle")},
	{Name: "rabbit_login_method", Type: "AMQPLAIN | PLAIN | EXTERNAL", Default: "AMQPLAIN",
		Help: "SASL mechanism. EXTERNAL logs in with the TLS client certificate (`ssl_cert_file`).",
		set:  choiceVal(func(o *Options) *string { return &o.LoginMethod }, "AMQPLAIN", "PLAIN", "EXTERNAL")},
	{Name: "kombu_missing_consumer_retry_timeout", Type: "seconds", Default: "60",
		Help: "How long a reply is retried while the caller's reply queue does not exist, or until the caller's timeout when sooner. The retries do not hold a worker; each module retries at most 64 replies and 16 MiB at once, and drops (and counts) the rest.",
		set:  secondsVal(func(o *Options) *time.Duration { return &o.MissingConsumerRetryTimeout }, 1, math.MaxInt32)},
	{Name: "ssl", Type: "boolean", Default: "false",
		Help: "Connect with TLS.",
		set:  boolVal(func(o *Options) *bool { return &o.TLS })},
	{Name: "ssl_version", Type: "string", Default: "",
		Help: "TLS version: empty or `sslv23` negotiates TLS 1.2 or later; `tlsv1`, `tlsv1_1`, `tlsv1_2`, `tlsv1_3` ask for exactly that one. (SSL 2 and 3 are refused.)",
		set:  strVal(func(o *Options) *string { return &o.TLSVersion })},
	{Name: "ssl_ca_file", Type: "path", Default: "",
		Help: "PEM file of the CAs the broker's certificate must chain to; without it, the system's roots.",
		set:  strVal(func(o *Options) *string { return &o.TLSCAFile })},
	{Name: "ssl_cert_file", Type: "path", Default: "",
		Help: "PEM client certificate, with `ssl_key_file`.",
		set:  strVal(func(o *Options) *string { return &o.TLSCertFile })},
	{Name: "ssl_key_file", Type: "path", Default: "",
		Help: "PEM key of `ssl_cert_file`.",
		set:  strVal(func(o *Options) *string { return &o.TLSKeyFile })},
	{Name: "ssl_enforce_hostname_verification", Type: "boolean", Default: "true",
		Help: "With `ssl_ca_file`, also check that the broker's certificate names the host dialed.",
		set: func(o *Options, v string) error {
			b, err := parseBool(v)
			o.TLSSkipHostname = !b
			return err
		}},
	{Name: "ssl_enforce_fips_mode", Type: "boolean", Default: "false", Status: NoEffect,
		Help: "18.1.0 deprecates it and does nothing with it; Go's FIPS mode is the GODEBUG setting fips140.",
		set:  boolVal(nil)},
	{Name: "rpc_conn_pool_size", Type: "integer", Default: "30", Status: NoEffect,
		Help: "Size of Python's connection pool; wasmrpcd publishes over one connection's channels.",
		set:  intVal(nil, 1, math.MaxInt32)},
	{Name: "conn_pool_min_size", Type: "integer", Default: "2", Status: NoEffect,
		Help: "Python's connection pool.",
		set:  intVal(nil, math.MinInt32, math.MaxInt32)},
	{Name: "conn_pool_ttl", Type: "integer", Default: "1200", Status: NoEffect,
		Help: "Python's connection pool.",
		set:  intVal(nil, math.MinInt32, math.MaxInt32)},

	// 14.0.3's names that 18.1.0 removed.
	{Name: "rabbit_quroum_max_memory_length", Type: "integer", Default: "0", Status: Removed, ReplacedBy: "rabbit_quorum_max_memory_length",
		Help: "14.0.3's spelling of `rabbit_quorum_max_memory_length`.",
		set:  intVal(func(o *Options) *int { return &o.QuorumMaxMemoryLength }, 0, math.MaxInt32)},
	{Name: "rabbit_quroum_max_memory_bytes", Type: "integer", Default: "0", Status: Removed, ReplacedBy: "rabbit_quorum_max_memory_bytes",
		Help: "14.0.3's spelling of `rabbit_quorum_max_memory_bytes`.",
		set:  intVal(func(o *Options) *int { return &o.QuorumMaxMemoryBytes }, 0, math.MaxInt32)},
	{Name: "heartbeat_in_pthread", Type: "boolean", Default: "false", Status: Removed,
		Help: "Python's heartbeat thread; heartbeats run in their own goroutine here.",
		set:  boolVal(nil)},
	{Name: "rabbit_use_ssl", Type: "boolean", Default: "false", Status: Removed, ReplacedBy: "ssl",
		Help: "14.0.3's deprecated name of `ssl`.",
		set:  boolVal(func(o *Options) *bool { return &o.TLS })},
	{Name: "kombu_ssl_version", Type: "string", Default: "", Status: Removed, ReplacedBy: "ssl_version",
		Help: "14.0.3's deprecated name of `ssl_version`.",
		set:  strVal(func(o *Options) *string { return &o.TLSVersion })},
	{Name: "kombu_ssl_ca_certs", Type: "path", Default: "", Status: Removed, ReplacedBy: "ssl_ca_file",
		Help: "14.0.3's deprecated name of `ssl_ca_file`.",
		set:  strVal(func(o *Options) *string { return &o.TLSCAFile })},
	{Name: "kombu_ssl_certfile", Type: "path", Default: "", Status: Removed, ReplacedBy: "ssl_cert_file",
		Help: "14.0.3's deprecated name of `ssl_cert_file`.",
		set:  strVal(func(o *Options) *string { return &o.TLSCertFile })},
	{Name: "kombu_ssl_keyfile", Type: "path", Default: "", Status: Removed, ReplacedBy: "ssl_key_file",
		Help: "14.0.3's deprecated name of `ssl_key_file`.",
		set:  strVal(func(o *Options) *string { return &o.TLSKeyFile })},
	{Name: "kombu_reconnect_timeout", Type: "seconds", Default: "60", Status: Removed, ReplacedBy: "kombu_missing_consumer_retry_timeout",
		Help: "14.0.3's deprecated name of `kombu_missing_consumer_retry_timeout`.",
		set:  secondsVal(func(o *Options) *time.Duration { return &o.MissingConsumerRetryTimeout }, 1, math.MaxInt32)},
}

// parseBool accepts oslo.config's boolean spellings.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (true or false)")
}

func parseInt(v string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("not an integer")
	}
	return int(n), nil
}

// boolVal sets *field; a nil field only validates.
func boolVal(field func(*Options) *bool) func(*Options, string) error {
	return func(o *Options, v string) error {
		b, err := parseBool(v)
		if err == nil && field != nil {
			*field(o) = b
		}
		return err
	}
}

// intVal sets *field to an integer from min to max; a nil field only
// validates.
func intVal(field func(*Options) *int, min, max int) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < min:
			return fmt.Errorf("must be at least %d", min)
		case n > max:
			return fmt.Errorf("must be at most %d", max)
		}
		if field != nil {
			*field(o) = n
		}
		return nil
	}
}

func strVal(field func(*Options) *string) func(*Options, string) error {
	return func(o *Options, v string) error {
		*field(o) = strings.TrimSpace(v)
		return nil
	}
}

func choiceVal(field func(*Options) *string, choices ...string) func(*Options, string) error {
	return func(o *Options, v string) error {
		v = strings.TrimSpace(v)
		for _, c := range choices {
			if strings.EqualFold(v, c) {
				*field(o) = c
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
	}
}

// secondsVal sets a duration from whole seconds, min to max; 0 becomes
// "none" (a negative duration), as the Options fields read it.
func secondsVal(field func(*Options) *time.Duration, min, max int) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < min:
			return fmt.Errorf("must be at least %d", min)
		case n > max:
			return fmt.Errorf("must be at most %d", max)
		}
		d := time.Duration(n) * time.Second
		if n == 0 {
			d = -1
		}
		*field(o) = d
		return nil
	}
}

// floatSecondsVal sets a duration from seconds with a fraction, 0 to
// max; 0 becomes "none" (a negative duration) when zeroIsNone, for a
// field whose zero value is a default.
func floatSecondsVal(field func(*Options) *time.Duration, max float64, zeroIsNone bool) func(*Options, string) error {
	return func(o *Options, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > max {
			return fmt.Errorf("not a number of seconds from 0 to %g", max)
		}
		d := time.Duration(f * float64(time.Second))
		if d == 0 && zeroIsNone {
			d = -1
		}
		*field(o) = d
		return nil
	}
}

// retryIntervalVal sets rabbit_retry_interval. 14.0.3 took 0 as 1 (kombu's
// interval_start or 1); 18.1.0 refuses it. A 14.0.3 file still loads.
func retryIntervalVal(o *Options, v string) error {
	n, err := parseInt(v)
	if err == nil && n < 0 {
		err = fmt.Errorf("must not be negative")
	}
	o.RetryInterval = time.Duration(n) * time.Second
	return err
}

// heartbeatVal sets heartbeat_timeout_threshold; 0 or less disables
// heartbeats.
func heartbeatVal(o *Options, v string) error {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return err
	case n > math.MaxUint16:
		return fmt.Errorf("must be at most %d", math.MaxUint16)
	case n <= 0:
		o.HeartbeatTimeout = -1
	default:
		o.HeartbeatTimeout = time.Duration(n) * time.Second
	}
	return nil
}

func compressionVal(o *Options, v string) error {
	v = strings.TrimSpace(v)
	if v != "" {
		if _, err := compression.ForOption(v); err != nil {
			return err
		}
	}
	o.Compression = v
	return nil
}
