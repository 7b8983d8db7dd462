package transport

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOptionsApply(t *testing.T) {
	tests := []struct {
		name  string
		query map[string]string
		check func(Options) bool
	}{
		{"durable quorum", map[string]string{"amqp_durable_queues": "True", "rabbit_quorum_queue": "yes"},
			func(o Options) bool { return o.DurableQueues && o.QuorumQueues && o.durable() }},
		{"quorum implies durable", map[string]string{"rabbit_quorum_queue": "1"},
			func(o Options) bool { return !o.DurableQueues && o.durable() }},
		{"quorum limits", map[string]string{"rabbit_quorum_delivery_limit": "3", "rabbit_quroum_max_memory_length": "10", "rabbit_quroum_max_memory_bytes": " 4096 "},
			func(o Options) bool {
				return o.QuorumDeliveryLimit == 3 && o.QuorumMaxMemoryLength == 10 && o.QuorumMaxMemoryBytes == 4096
			}},
		{"ttl", map[string]string{"rabbit_transient_queues_ttl": "60"},
			func(o Options) bool { return o.queuesTTL() == time.Minute }},
		{"heartbeat off", map[string]string{"heartbeat_timeout_threshold": "0"},
			func(o Options) bool { return o.heartbeat() == 0 }},
		{"heartbeat 10", map[string]string{"heartbeat_timeout_threshold": "10", "heartbeat_rate": "3"},
			func(o Options) bool { return o.heartbeat() == 10*time.Second }},
		{"reconnect delay", map[string]string{"kombu_reconnect_delay": "0.5"},
			func(o Options) bool { return o.reconnectDelay() == 500*time.Millisecond }},
		{"reconnect delay 0", map[string]string{"kombu_reconnect_delay": "0"},
			func(o Options) bool { return o.reconnectDelay() == 0 }},
		{"mandatory off", map[string]string{"direct_mandatory_flag": "false"},
			func(o Options) bool { return o.NoDirectMandatory }},
		{"pool options ignored", map[string]string{"rpc_conn_pool_size": "30", "conn_pool_ttl": "1"},
			func(o Options) bool { return o == Options{} }},
		{"prefetch", map[string]string{"rabbit_qos_prefetch_count": "50"},
			func(o Options) bool { return o.PrefetchCount == 50 }},
		{"failover", map[string]string{"kombu_failover_strategy": "shuffle", "rabbit_login_method": "PLAIN"},
			func(o Options) bool { return o.FailoverStrategy == "shuffle" && o.LoginMethod == "PLAIN" }},
		{"ttl 0 is none", map[string]string{"rabbit_transient_queues_ttl": "0"},
			func(o Options) bool { return o.queuesTTL() == 0 && o.replyQueue("q").Args["x-expires"] == nil }},
		{"14.0.3's spelling", map[string]string{"rabbit_quroum_max_memory_length": "7"},
			func(o Options) bool { return o.QuorumMaxMemoryLength == 7 }},
		{"kolla", map[string]string{
			"rabbit_quorum_queue": "true", "rabbit_transient_quorum_queue": "true", "rabbit_stream_fanout": "true",
			"rabbit_qos_prefetch_count": "10", "use_queue_manager": "true", "hostname": "h1", "processname": "p1",
			"kombu_compression": "gzip",
		}, func(o Options) bool {
			return o.QuorumQueues && o.TransientQuorumQueue && o.StreamFanout && o.PrefetchCount == 10 &&
				o.QueueManager && o.queueManagerPrefix() == "h1:p1" && o.Compression == "gzip"
		}},
		{"codec by MIME type", map[string]string{"kombu_compression": "application/x-gzip"},
			func(o Options) bool { return o.Compression == "application/x-gzip" }},
		{"splay", map[string]string{"kombu_reconnect_splay": "2.5"},
			func(o Options) bool { return o.ReconnectSplay == 2500*time.Millisecond }},
		{"hostname not checked", map[string]string{"ssl_enforce_hostname_verification": "False"},
			func(o Options) bool { return o.TLSSkipHostname }},
		{"tls 1.2", map[string]string{"ssl": "true", "ssl_version": "TLSv1_2"},
			func(o Options) bool { return o.TLSVersion == "TLSv1_2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := Options{}.Apply(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
}

func TestOptionsApplyRefuses(t *testing.T) {
	for name, q := range map[string]map[string]string{
		"unknown":           {"rabbit_max_retries": "3"},
		"bad bool":          {"amqp_durable_queues": "maybe"},
		"bad int":           {"rabbit_qos_prefetch_count": "x"},
		"negative":          {"rabbit_qos_prefetch_count": "-1"},
		"ttl negative":      {"rabbit_transient_queues_ttl": "-1"},
		"stream alone":      {"rabbit_stream_fanout": "true", "rabbit_qos_prefetch_count": "10"},
		"stream, no qos":    {"rabbit_stream_fanout": "true", "rabbit_transient_quorum_queue": "true"},
		"transient and ha":  {"rabbit_transient_quorum_queue": "true", "rabbit_ha_queues": "true"},
		"bz2 is no codec":   {"kombu_compression": "bz2"},
		"bzip2 unwritable":  {"kombu_compression": "bzip2"},
		"ssl version":       {"ssl_version": "sslv3"},
		"external, no cert": {"rabbit_login_method": "EXTERNAL"},
		"heartbeat rate 0":  {"heartbeat_rate": "0"},
		"interval max 0":    {"rabbit_interval_max": "0"},
		"quorum and ha":     {"rabbit_quorum_queue": "true", "rabbit_ha_queues": "true"},
		"failover":          {"kombu_failover_strategy": "random"},
		"login":             {"rabbit_login_method": "RABBIT-CR-DEMO"},
		"reconnect too big": {"kombu_reconnect_delay": "10"},
	} {
		t.Run(name, func(t *testing.T) {
			if o, _, err := (Options{}).Apply(q); !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Apply = %+v, %v; want ErrInvalidOption", o, err)
			}
		})
	}
}

func TestOptionsWarnings(t *testing.T) {
	for _, tt := range []struct {
		name, value, want string // want: in the warning; "" for none
	}{
		{"rabbit_quroum_max_memory_bytes", "10", "its value applies to rabbit_quorum_max_memory_bytes"},
		{"heartbeat_in_pthread", "true", "removed in oslo.messaging 17.0 and has no effect"},
		{"rabbit_use_ssl", "true", "applies to ssl"},
		{"heartbeat_rate", "3", ""},
		{"heartbeat_rate", "5", "has no effect in wasmrpcd"},
		{"ssl_enforce_fips_mode", "False", ""},
		{"ssl_enforce_fips_mode", "yes", "has no effect"},
		{"rabbit_quorum_queue", "true", ""},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var o Options
			w, err := o.Set(tt.name, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && w != "" || !strings.Contains(w, tt.want) {
				t.Fatalf("warning %q, want %q", w, tt.want)
			}
		})
	}
}

// TestRabbitOptionsTable checks the table of options: each default is a
// value its own option takes, and setting it changes nothing (Options{}
// is oslo's defaults).
func TestRabbitOptionsTable(t *testing.T) {
	for _, opt := range RabbitOptions() {
		t.Run(opt.Name, func(t *testing.T) {
			if opt.Help == "" || opt.Type == "" {
				t.Errorf("no help or type")
			}
			if opt.Status == Removed && opt.ReplacedBy != "" {
				if _, ok := LookupRabbitOption(opt.ReplacedBy); !ok {
					t.Errorf("replaced by unknown option %q", opt.ReplacedBy)
				}
			}
			var o Options
			if _, err := o.Set(opt.Name, opt.Default); err != nil {
				t.Fatalf("its default %q: %v", opt.Default, err)
			}
			if got, want := effective(o), effective(Options{}); got != want {
				t.Errorf("setting the default gives %+v, want %+v", got, want)
			}
		})
	}
}

// effective is what options mean, their defaults filled in.
func effective(o Options) Options {
	o.TransientQueuesTTL = o.queuesTTL()
	o.HeartbeatTimeout = o.heartbeat()
	o.ReconnectDelay = o.reconnectDelay()
	o.RetryInterval, o.RetryBackoff, o.IntervalMax = o.backoff(0), o.backoff(1)-o.backoff(0), o.backoff(1000)
	o.MissingConsumerRetryTimeout = o.missingConsumerTimeout()
	if o.FailoverStrategy == "" {
		o.FailoverStrategy = "round-robin"
	}
	if o.LoginMethod == "" {
		o.LoginMethod = "AMQPLAIN"
	}
	return o
}

func TestOptionsBackoff(t *testing.T) {
	o := Options{}
	want := []time.Duration{1, 3, 5, 7}
	for i, w := range want {
		if got := o.backoff(i); got != w*time.Second {
			t.Errorf("backoff(%d) = %v, want %v", i, got, w*time.Second)
		}
	}
	if got := o.backoff(100); got != 30*time.Second {
		t.Errorf("backoff(100) = %v, want the 30 s cap", got)
	}
	fast := Options{RetryInterval: time.Millisecond, RetryBackoff: -1}
	if got := fast.backoff(5); got != minBackoff {
		t.Errorf("backoff floor: got %v", got)
	}
}
