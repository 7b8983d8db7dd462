package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options are the driver settings of oslo.messaging's rabbit driver (the
// [oslo_messaging_rabbit] group and control_exchange) plus a few of
// wasmrpcd's own. The zero value of every field means oslo.messaging's
// default, so Options{} declares exactly what a default Python server
// declares.
type Options struct {
	// ControlExchange names the topic exchange of targets without an
	// exchange. "" means "openstack".
	ControlExchange string

	// DurableQueues is amqp_durable_queues: topic queues and the topic
	// exchange are durable. Quorum queues imply it.
	DurableQueues bool
	// AutoDelete is amqp_auto_delete: topic queues and the topic exchange
	// are auto-delete.
	AutoDelete bool
	// HAQueues is rabbit_ha_queues: queues carry x-ha-policy=all. It
	// excludes QuorumQueues.
	HAQueues bool
	// QuorumQueues is rabbit_quorum_queue: topic and notification queues
	// are declared with x-queue-type=quorum (and durable).
	QuorumQueues bool
	// QuorumDeliveryLimit is rabbit_quorum_delivery_limit
	// (x-delivery-limit); 0 sets no limit.
	QuorumDeliveryLimit int
	// QuorumMaxMemoryLength is rabbit_quroum_max_memory_length
	// (x-max-in-memory-length; oslo spells the option so); 0 sets none.
	QuorumMaxMemoryLength int
	// QuorumMaxMemoryBytes is rabbit_quroum_max_memory_bytes
	// (x-max-in-memory-bytes); 0 sets none.
	QuorumMaxMemoryBytes int
	// TransientQueuesTTL is rabbit_transient_queues_ttl, the x-expires of
	// reply and fanout queues, in whole seconds. 0 means 1800 s.
	TransientQueuesTTL time.Duration

	// PrefetchCount is rabbit_qos_prefetch_count, the basic.qos prefetch
	// of each listener's consumers; 0 means unlimited.
	PrefetchCount int
	// HeartbeatTimeout is heartbeat_timeout_threshold, the AMQP heartbeat
	// asked of the broker. 0 means 60 s. Negative asks for none, but
	// amqp091-go then takes the broker's proposal (RabbitMQ's default is
	// 60 s): it cannot refuse heartbeats the broker wants.
	HeartbeatTimeout time.Duration
	// ReconnectDelay is kombu_reconnect_delay, the pause after a lost
	// connection before the first new attempt. 0 means 1 s; negative
	// means none.
	ReconnectDelay time.Duration
	// RetryInterval is rabbit_retry_interval, the first pause after a round
	// of failed attempts over every host. 0 means 1 s.
	RetryInterval time.Duration
	// RetryBackoff is rabbit_retry_backoff, added to the pause after each
	// further round. 0 means 2 s; negative means none.
	RetryBackoff time.Duration
	// IntervalMax is rabbit_interval_max, the cap of that pause. 0 means 30 s.
	IntervalMax time.Duration
	// FailoverStrategy is kombu_failover_strategy: "round-robin" (the
	// default, "" too) tries the hosts in the URL's order starting after
	// the one that failed; "shuffle" tries them in a random order.
	FailoverStrategy string
	// LoginMethod is rabbit_login_method: "AMQPLAIN" (the default, ""
	// too), "PLAIN" or "EXTERNAL".
	LoginMethod string
	// MissingConsumerRetryTimeout is kombu_missing_consumer_retry_timeout:
	// how long an RPC server keeps retrying a reply whose queue is missing
	// (the transport returns ErrNoRoute; the server loops). 0 means 60 s.
	MissingConsumerRetryTimeout time.Duration
	// NoDirectMandatory is direct_mandatory_flag=false: replies are
	// published without the mandatory flag, so a missing reply queue is
	// not noticed. oslo.messaging deprecates turning the flag off.
	NoDirectMandatory bool
	// CancelOnFailover is enable_cancel_on_failover: consumers ask for
	// x-cancel-on-ha-failover.
	CancelOnFailover bool

	// TLS is ssl: connect with TLS.
	TLS bool
	// TLSCAFile, TLSCertFile and TLSKeyFile are ssl_ca_file, ssl_cert_file
	// and ssl_key_file. Without a CA file the broker's certificate is not
	// verified, as in oslo.messaging.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// TLSVerifyHostname is ssl_enforce_hostname_verification: with a CA
	// file, also check the broker's host name.
	TLSVerifyHostname bool

	// ConnectionName, when set, names the AMQP connections in their
	// connection_name client property: ConnectionName+":send" and
	// ConnectionName+":listen". "" means oslo's form,
	// "<program>:<pid>:<uuid>".
	ConnectionName string
	// PublishChannels is the number of confirm-mode channels publishes
	// share. Each carries up to 128 publishes awaiting their confirm; a
	// publish takes the first channel with fewer than 32 in flight (the
	// broker confirms in groups what comes together on a channel), so
	// the others open only under load. 0 means 8.
	PublishChannels int
	// Logger receives connection events. nil means slog.Default().
	Logger *slog.Logger
}

// ErrInvalidOption is wrapped by the errors of Options.Apply and
// Options.Validate.
var ErrInvalidOption = errors.New("invalid transport option")

// Defaults of oslo.messaging 14.0.3.
const (
	DefaultControlExchange = "openstack"
	defaultQueuesTTL       = 1800 * time.Second
	defaultHeartbeat       = 60 * time.Second
	defaultReconnectDelay  = time.Second
	defaultRetryInterval   = time.Second
	defaultRetryBackoff    = 2 * time.Second
	defaultIntervalMax     = 30 * time.Second
	defaultMissingConsumer = 60 * time.Second
	defaultPublishChannels = 8
	minBackoff             = 100 * time.Millisecond
)

// Validate reports settings oslo.messaging also refuses.
func (o Options) Validate() error {
	if o.HAQueues && o.QuorumQueues {
		return fmt.Errorf("%w: rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both", ErrInvalidOption)
	}
	switch strings.ToLower(o.FailoverStrategy) {
	case "", "round-robin", "shuffle":
	default:
		return fmt.Errorf("%w: kombu_failover_strategy %q (want round-robin or shuffle)", ErrInvalidOption, o.FailoverStrategy)
	}
	switch strings.ToUpper(o.LoginMethod) {
	case "", "AMQPLAIN", "PLAIN", "EXTERNAL":
	default:
		return fmt.Errorf("%w: rabbit_login_method %q (want AMQPLAIN, PLAIN or EXTERNAL)", ErrInvalidOption, o.LoginMethod)
	}
	if o.TransientQueuesTTL < 0 || o.TransientQueuesTTL%time.Second != 0 {
		return fmt.Errorf("%w: rabbit_transient_queues_ttl %v is not a positive number of seconds", ErrInvalidOption, o.TransientQueuesTTL)
	}
	if o.TransientQueuesTTL/time.Millisecond > math.MaxInt32 {
		return fmt.Errorf("%w: rabbit_transient_queues_ttl %v is too large", ErrInvalidOption, o.TransientQueuesTTL)
	}
	for _, v := range []struct {
		name string
		n    int
	}{
		{"rabbit_quorum_delivery_limit", o.QuorumDeliveryLimit},
		{"rabbit_quroum_max_memory_length", o.QuorumMaxMemoryLength},
		{"rabbit_quroum_max_memory_bytes", o.QuorumMaxMemoryBytes},
		{"rabbit_qos_prefetch_count", o.PrefetchCount},
	} {
		if v.n < 0 || v.n > math.MaxInt32 {
			return fmt.Errorf("%w: %s %d out of range", ErrInvalidOption, v.name, v.n)
		}
	}
	if o.PrefetchCount > math.MaxUint16 {
		return fmt.Errorf("%w: rabbit_qos_prefetch_count %d exceeds 65535", ErrInvalidOption, o.PrefetchCount)
	}
	return nil
}

func (o Options) controlExchange() string {
	if o.ControlExchange == "" {
		return DefaultControlExchange
	}
	return o.ControlExchange
}

func (o Options) durable() bool { return o.DurableQueues || o.QuorumQueues }

func (o Options) queuesTTL() time.Duration {
	if o.TransientQueuesTTL == 0 {
		return defaultQueuesTTL
	}
	return o.TransientQueuesTTL
}

func (o Options) heartbeat() time.Duration {
	switch {
	case o.HeartbeatTimeout < 0:
		return 0
	case o.HeartbeatTimeout == 0:
		return defaultHeartbeat
	}
	return o.HeartbeatTimeout
}

func (o Options) reconnectDelay() time.Duration {
	return orDefault(o.ReconnectDelay, defaultReconnectDelay)
}

func (o Options) missingConsumerTimeout() time.Duration {
	return orDefault(o.MissingConsumerRetryTimeout, defaultMissingConsumer)
}

// MissingConsumerTimeout returns MissingConsumerRetryTimeout with its
// default filled in.
func (o Options) MissingConsumerTimeout() time.Duration { return o.missingConsumerTimeout() }

// backoff returns the pause after the n-th (from 0) failed round over the
// hosts: kombu's interval_start + n*interval_step, capped.
func (o Options) backoff(n int) time.Duration {
	start := orDefault(o.RetryInterval, defaultRetryInterval)
	step := orDefault(o.RetryBackoff, defaultRetryBackoff)
	max := orDefault(o.IntervalMax, defaultIntervalMax)
	d := start + time.Duration(n)*step
	if d > max || d < 0 {
		d = max
	}
	// Never spin over refusing hosts.
	if d < minBackoff {
		d = minBackoff
	}
	return d
}

func (o Options) publishChannels() int {
	if o.PublishChannels <= 0 {
		return defaultPublishChannels
	}
	return o.PublishChannels
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// orDefault maps 0 to def and a negative duration to 0.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// optionSetter applies one URL query option.
type optionSetter func(o *Options, v string) error

// queryOptions lists every option oslo.messaging's rabbit driver accepts in
// a transport URL's query. Those with a nil setter are accepted and have no
// effect here (they tune Python's connection pool or threads).
var queryOptions = map[string]optionSetter{
	"amqp_durable_queues":                  boolOpt(func(o *Options) *bool { return &o.DurableQueues }),
	"amqp_auto_delete":                     boolOpt(func(o *Options) *bool { return &o.AutoDelete }),
	"rabbit_ha_queues":                     boolOpt(func(o *Options) *bool { return &o.HAQueues }),
	"rabbit_quorum_queue":                  boolOpt(func(o *Options) *bool { return &o.QuorumQueues }),
	"rabbit_quorum_delivery_limit":         intOpt(func(o *Options) *int { return &o.QuorumDeliveryLimit }),
	"rabbit_quroum_max_memory_length":      intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryLength }),
	"rabbit_quroum_max_memory_bytes":       intOpt(func(o *Options) *int { return &o.QuorumMaxMemoryBytes }),
	"rabbit_transient_queues_ttl":          secondsOpt(func(o *Options) *time.Duration { return &o.TransientQueuesTTL }, 1),
	"rabbit_qos_prefetch_count":            intOpt(func(o *Options) *int { return &o.PrefetchCount }),
	"heartbeat_timeout_threshold":          heartbeatOpt,
	"heartbeat_rate":                       nil,
	"heartbeat_in_pthread":                 nil,
	"kombu_reconnect_delay":                floatSecondsOpt(func(o *Options) *time.Duration { return &o.ReconnectDelay }),
	"rabbit_retry_interval":                retryIntervalOpt,
	"rabbit_retry_backoff":                 secondsOpt(func(o *Options) *time.Duration { return &o.RetryBackoff }, 0),
	"rabbit_interval_max":                  secondsOpt(func(o *Options) *time.Duration { return &o.IntervalMax }, 0),
	"kombu_failover_strategy":              strOpt(func(o *Options) *string { return &o.FailoverStrategy }),
	"rabbit_login_method":                  strOpt(func(o *Options) *string { return &o.LoginMethod }),
	"kombu_missing_consumer_retry_timeout": secondsOpt(func(o *Options) *time.Duration { return &o.MissingConsumerRetryTimeout }, 0),
	"direct_mandatory_flag": func(o *Options, v string) error {
		b, err := parseBool(v)
		o.NoDirectMandatory = !b
		return err
	},
	"enable_cancel_on_failover":         boolOpt(func(o *Options) *bool { return &o.CancelOnFailover }),
	"ssl":                               boolOpt(func(o *Options) *bool { return &o.TLS }),
	"ssl_ca_file":                       strOpt(func(o *Options) *string { return &o.TLSCAFile }),
	"ssl_cert_file":                     strOpt(func(o *Options) *string { return &o.TLSCertFile }),
	"ssl_key_file":                      strOpt(func(o *Options) *string { return &o.TLSKeyFile }),
	"ssl_enforce_hostname_verification": boolOpt(func(o *Options) *bool { return &o.TLSVerifyHostname }),
	"ssl_version":                       unsupportedUnlessEmpty,
	"ssl_enforce_fips_mode":             unsupportedUnlessFalse,
	"kombu_compression":                 unsupportedUnlessEmpty,
	"rpc_conn_pool_size":                nil,
	"conn_pool_min_size":                nil,
	"conn_pool_ttl":                     nil,
}

// Apply returns o with the URL query's options applied over it, as
// oslo.messaging lets a transport URL's query override the driver's
// configuration. An option the rabbit driver does not know is an error,
// as it is for oslo.messaging.
func (o Options) Apply(query map[string]string) (Options, error) {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set, known := queryOptions[k]
		if !known {
			return o, fmt.Errorf("%w: no such option %q in group [oslo_messaging_rabbit]", ErrInvalidOption, k)
		}
		if set == nil {
			continue
		}
		if err := set(&o, query[k]); err != nil {
			return o, fmt.Errorf("%w: %s=%q: %v", ErrInvalidOption, k, query[k], err)
		}
	}
	return o, o.Validate()
}

// parseBool accepts oslo.config's boolean spellings.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("unexpected boolean value")
}

func parseInt(v string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	return int(n), nil
}

func boolOpt(field func(*Options) *bool) optionSetter {
	return func(o *Options, v string) error {
		b, err := parseBool(v)
		*field(o) = b
		return err
	}
}

func intOpt(field func(*Options) *int) optionSetter {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		if err == nil && n < 0 {
			err = fmt.Errorf("must not be negative")
		}
		*field(o) = n
		return err
	}
}

func strOpt(field func(*Options) *string) optionSetter {
	return func(o *Options, v string) error {
		*field(o) = v
		return nil
	}
}

// secondsOpt sets a duration from whole seconds; 0 becomes "none" (a
// negative duration) where the option allows 0.
func secondsOpt(field func(*Options) *time.Duration, min int) optionSetter {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		if err != nil {
			return err
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		d := time.Duration(n) * time.Second
		if n == 0 {
			d = -1
		}
		*field(o) = d
		return nil
	}
}

func floatSecondsOpt(field func(*Options) *time.Duration) optionSetter {
	return func(o *Options, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 4.5 || math.IsNaN(f) {
			return fmt.Errorf("not a number of seconds in 0-4.5")
		}
		d := time.Duration(f * float64(time.Second))
		if d == 0 {
			d = -1
		}
		*field(o) = d
		return nil
	}
}

// retryIntervalOpt sets rabbit_retry_interval, whose 0 kombu replaces by 1 s.
func retryIntervalOpt(o *Options, v string) error {
	n, err := parseInt(v)
	if err == nil && n < 0 {
		err = fmt.Errorf("must not be negative")
	}
	o.RetryInterval = time.Duration(n) * time.Second
	return err
}

func heartbeatOpt(o *Options, v string) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	o.HeartbeatTimeout = time.Duration(n) * time.Second
	if n <= 0 {
		o.HeartbeatTimeout = -1
	}
	return nil
}

func unsupportedUnlessEmpty(_ *Options, v string) error {
	if strings.TrimSpace(v) != "" {
		return fmt.Errorf("not supported by wasmrpcd")
	}
	return nil
}

func unsupportedUnlessFalse(_ *Options, v string) error {
	b, err := parseBool(v)
	if err != nil {
		return err
	}
	if b {
		return fmt.Errorf("not supported by wasmrpcd")
	}
	return nil
}

// Options returns base with the URL's query options applied (see
// Options.Apply).
func (u *URL) Options(base Options) (Options, error) { return base.Apply(u.Query) }
