package daemon

import (
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// TestTransportOptions: the rabbit section's options reach the transport
// (host/transport's tests connect with them), with the daemon's
// connection name.
func TestTransportOptions(t *testing.T) {
	cfg := &config.Config{Server: "s", ControlExchange: "cinder", Rabbit: map[string]string{
		"ssl": "true", "ssl_ca_file": "/ca.pem", "ssl_cert_file": "/c.pem", "ssl_key_file": "/c.key",
		"ssl_enforce_hostname_verification": "false", "rabbit_stream_fanout": "true",
		"rabbit_transient_quorum_queue": "true", "rabbit_qos_prefetch_count": "10",
	}}
	o := transportOptions(cfg, nil)
	if !o.TLS || o.TLSCAFile != "/ca.pem" || o.TLSCertFile != "/c.pem" || o.TLSKeyFile != "/c.key" || !o.TLSSkipHostname ||
		!o.StreamFanout || o.PrefetchCount != 10 || o.ControlExchange != "cinder" || o.ConnectionName != "wasmrpcd:s" {
		t.Errorf("transport options %+v do not carry the config's", o)
	}
	if o := transportOptions(&config.Config{}, nil); o.TLS {
		t.Error("TLS without ssl: true")
	}
}
