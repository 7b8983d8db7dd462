package daemon

import (
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// TestTransportOptionsTLS: the rabbit section's ssl options reach the
// transport (host/transport's TestTLSBroker connects with them).
func TestTransportOptionsTLS(t *testing.T) {
	cfg := &config.Config{Server: "s", Rabbit: config.DefaultRabbit()}
	cfg.Rabbit.SSL = true
	cfg.Rabbit.SSLCAFile, cfg.Rabbit.SSLCertFile, cfg.Rabbit.SSLKeyFile = "/ca.pem", "/c.pem", "/c.key"
	cfg.Rabbit.SSLEnforceHostnameVerification = true
	o := transportOptions(cfg, nil)
	if !o.TLS || o.TLSCAFile != "/ca.pem" || o.TLSCertFile != "/c.pem" || o.TLSKeyFile != "/c.key" || !o.TLSVerifyHostname {
		t.Errorf("transport options %+v do not carry the ssl options", o)
	}
	if o := transportOptions(&config.Config{Rabbit: config.DefaultRabbit()}, nil); o.TLS {
		t.Error("TLS without ssl: true")
	}
}
