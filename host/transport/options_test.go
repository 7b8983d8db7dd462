package transport

import (
	"errors"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Options{}.Apply(tt.query)
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
		"ttl zero":          {"rabbit_transient_queues_ttl": "0"},
		"quorum and ha":     {"rabbit_quorum_queue": "true", "rabbit_ha_queues": "true"},
		"failover":          {"kombu_failover_strategy": "random"},
		"login":             {"rabbit_login_method": "RABBIT-CR-DEMO"},
		"compression":       {"kombu_compression": "gzip"},
		"reconnect too big": {"kombu_reconnect_delay": "10"},
	} {
		t.Run(name, func(t *testing.T) {
			if o, err := (Options{}).Apply(q); !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Apply = %+v, %v; want ErrInvalidOption", o, err)
			}
		})
	}
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
