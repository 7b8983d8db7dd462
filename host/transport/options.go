package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/compression"
)

// Options are the driver settings of oslo.messaging's rabbit driver (the
// [oslo_messaging_rabbit] group, see RabbitOptions, and control_exchange)
// plus a few of wasmrpcd's own. The zero value of every field means
// oslo.messaging 18.1.0's default, so Options{} declares exactly what a
// default Python server declares.
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
	// excludes QuorumQueues and TransientQuorumQueue.
	HAQueues bool
	// QuorumQueues is rabbit_quorum_queue: topic and notification queues
	// are declared with x-queue-type=quorum (and durable).
	QuorumQueues bool
	// TransientQuorumQueue is rabbit_transient_quorum_queue: reply and
	// fanout queues are durable quorum queues (still with x-expires), and
	// fanout exchanges are durable.
	TransientQuorumQueue bool
	// StreamFanout is rabbit_stream_fanout: each fanout exchange feeds one
	// durable stream, named as the exchange and shared by every server of
	// the topic, which each reads from its own offset. It needs
	// TransientQuorumQueue and a PrefetchCount.
	StreamFanout bool
	// QuorumDeliveryLimit is rabbit_quorum_delivery_limit
	// (x-delivery-limit); 0 sets no limit.
	QuorumDeliveryLimit int
	// QuorumMaxMemoryLength is rabbit_quorum_max_memory_length
	// (x-max-in-memory-length); 0 sets none.
	QuorumMaxMemoryLength int
	// QuorumMaxMemoryBytes is rabbit_quorum_max_memory_bytes
	// (x-max-in-memory-bytes); 0 sets none.
	QuorumMaxMemoryBytes int
	// TransientQueuesTTL is rabbit_transient_queues_ttl, the x-expires of
	// reply and fanout queues (the x-max-age of fanout streams), in whole
	// seconds. 0 means 1800 s; negative means none (oslo's 0).
	TransientQueuesTTL time.Duration

	// QueueManager is use_queue_manager: reply and fanout queues are named
	// "<hostname>:<processname>:<n>" after their prefix instead of a random
	// UUID, so that a restarted process declares the same queues again.
	QueueManager bool
	// Hostname and ProcessName are the hostname and processname of those
	// names; "" means the machine's host name and the program's file name,
	// as oslo's defaults.
	Hostname, ProcessName string

	// Compression is kombu_compression: the codec publishes are
	// compressed with (see package compression); "" compresses nothing.
	// Compressed messages are read whatever it says.
	Compression string

	// PrefetchCount is rabbit_qos_prefetch_count, the basic.qos prefetch
	// of each listener's consumers; 0 means unlimited.
	PrefetchCount int
	// HeartbeatTimeout is heartbeat_timeout_threshold, the AMQP heartbeat
	// asked of the broker. 0 means 60 s. Negative asks for none, but
	// amqp091-go then takes the broker's proposal (RabbitMQ's default is
	// 60 s): it cannot refuse heartbeats the broker wants.
	HeartbeatTimeout time.Duration
	// ReconnectDelay is kombu_reconnect_delay, the pause after a lost
	// connection or channel before the first new attempt. 0 means 1 s;
	// negative means none.
	ReconnectDelay time.Duration
	// ReconnectSplay is kombu_reconnect_splay: a random pause of up to
	// this much is added to ReconnectDelay, so that many processes losing
	// the broker at once do not come back at the same instant.
	ReconnectSplay time.Duration
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
	// too), "PLAIN" or "EXTERNAL" (the client certificate of TLSCertFile).
	LoginMethod string
	// MissingConsumerRetryTimeout is kombu_missing_consumer_retry_timeout:
	// how long an RPC server keeps retrying a reply whose queue is missing
	// (the transport returns ErrNoRoute; the server loops). 0 means 60 s.
	MissingConsumerRetryTimeout time.Duration
	// NoDirectMandatory is direct_mandatory_flag=false: replies are
	// published without the mandatory flag, so a missing reply queue is
	// not noticed. oslo.messaging deprecates turning the flag off.
	NoDirectMandatory bool
	// CancelOnFailover is enable_cancel_on_failover: consumers of classic
	// queues ask for x-cancel-on-ha-failover. (RabbitMQ refuses it on
	// quorum queues and streams, which get none.)
	CancelOnFailover bool

	// TLS is ssl: connect with TLS.
	TLS bool
	// TLSVersion is ssl_version: "" or "sslv23" negotiates TLS 1.2 or
	// later; "tlsv1", "tlsv1_1", "tlsv1_2" and "tlsv1_3" ask for exactly
	// that version.
	TLSVersion string
	// TLSCAFile, TLSCertFile and TLSKeyFile are ssl_ca_file, ssl_cert_file
	// and ssl_key_file. Without a CA file the broker's certificate must
	// chain to the system's roots, as with Python's default context.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// TLSSkipHostname is ssl_enforce_hostname_verification=false: the
	// broker's host name is not checked against its certificate. (oslo
	// checks it only with a CA file; so does wasmrpcd.)
	TLSSkipHostname bool

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

// ErrInvalidOption is wrapped by the errors of Options.Set, Options.Apply
// and Options.Validate.
var ErrInvalidOption = errors.New("invalid transport option")

// Defaults of oslo.messaging 18.1.0 (the same as 14.0.3's where both
// have the option).
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

// Validate reports settings oslo.messaging also refuses, and those that
// cannot work.
func (o Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
	switch {
	case o.HAQueues && o.QuorumQueues:
		return bad("rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both")
	case o.HAQueues && o.TransientQuorumQueue:
		return bad("rabbit_transient_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both")
	case o.StreamFanout && !o.TransientQuorumQueue:
		return bad("rabbit_stream_fanout needs rabbit_transient_quorum_queue")
	case o.StreamFanout && o.PrefetchCount == 0:
		return bad("rabbit_stream_fanout needs rabbit_qos_prefetch_count > 0: RabbitMQ refuses to consume a stream without one")
	}
	switch strings.ToLower(o.FailoverStrategy) {
	case "", "round-robin", "shuffle":
	default:
		return bad("kombu_failover_strategy %q (want round-robin or shuffle)", o.FailoverStrategy)
	}
	switch strings.ToUpper(o.LoginMethod) {
	case "", "AMQPLAIN", "PLAIN":
	case "EXTERNAL":
		if !o.TLS || o.TLSCertFile == "" {
			return bad("rabbit_login_method EXTERNAL logs in with the TLS client certificate: it needs ssl and ssl_cert_file")
		}
	default:
		return bad("rabbit_login_method %q (want AMQPLAIN, PLAIN or EXTERNAL)", o.LoginMethod)
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return bad("ssl_cert_file and ssl_key_file go together: set both or neither")
	}
	if _, _, err := o.tlsVersion(); err != nil {
		return bad("%v", err)
	}
	if o.TransientQueuesTTL%time.Second != 0 && o.TransientQueuesTTL > 0 {
		return bad("rabbit_transient_queues_ttl %v is not a whole number of seconds", o.TransientQueuesTTL)
	}
	if o.TransientQueuesTTL/time.Millisecond > math.MaxInt32 {
		return bad("rabbit_transient_queues_ttl %v is too large", o.TransientQueuesTTL)
	}
	for _, v := range []struct {
		name string
		n    int
	}{
		{"rabbit_quorum_delivery_limit", o.QuorumDeliveryLimit},
		{"rabbit_quorum_max_memory_length", o.QuorumMaxMemoryLength},
		{"rabbit_quorum_max_memory_bytes", o.QuorumMaxMemoryBytes},
		{"rabbit_qos_prefetch_count", o.PrefetchCount},
	} {
		if v.n < 0 || v.n > math.MaxInt32 {
			return bad("%s %d out of range", v.name, v.n)
		}
	}
	if o.PrefetchCount > math.MaxUint16 {
		return bad("rabbit_qos_prefetch_count %d exceeds 65535", o.PrefetchCount)
	}
	if o.Compression != "" {
		c, err := compression.ForOption(o.Compression)
		if err != nil {
			return bad("kombu_compression: %v", err)
		}
		if !c.CanCompress() {
			return bad("kombu_compression %s: wasmrpcd reads %s messages but cannot write them; choose gzip, lzma, zstd or brotli", o.Compression, c.Name())
		}
	}
	if o.QueueManager {
		for _, s := range []struct{ name, v string }{{"hostname", o.Hostname}, {"processname", o.ProcessName}} {
			if strings.ContainsFunc(s.v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return bad("%s %q holds blanks or control characters: it names queues", s.name, s.v)
			}
		}
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

// transientDurable is whether reply and fanout queues and the fanout
// exchanges are durable.
func (o Options) transientDurable() bool { return o.TransientQuorumQueue || o.StreamFanout }

// queuesTTL returns the x-expires of transient queues; 0 for none.
func (o Options) queuesTTL() time.Duration {
	return orDefault(o.TransientQueuesTTL, defaultQueuesTTL)
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

// reconnectPause is the pause after a lost connection or channel:
// kombu_reconnect_delay and a random part of kombu_reconnect_splay.
func (o Options) reconnectPause() time.Duration {
	d := o.reconnectDelay()
	if o.ReconnectSplay > 0 {
		d += rand.N(o.ReconnectSplay)
	}
	return d
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

// queueManagerPrefix returns "<hostname>:<processname>", the start of the
// queue manager's names.
func (o Options) queueManagerPrefix() string {
	host, proc := o.Hostname, o.ProcessName
	if host == "" {
		host, _ = os.Hostname()
	}
	if proc == "" && len(os.Args) > 0 {
		proc = filepath.Base(os.Args[0])
	}
	return host + ":" + proc
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

// Options returns base with the URL's query options applied (see
// Options.Apply).
func (u *URL) Options(base Options) (Options, error) {
	o, _, err := base.Apply(u.Query)
	return o, err
}
