package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseOsloFile(t *testing.T) {
	f, err := parseOsloFile("cinder.conf", []byte(`# A service's config.
[DEFAULT]
transport_url = rabbit://openstack:$password@rabbit-1:5672,openstack:$password@rabbit-2:5672/
password = s3cret$$
control_exchange: cinder
; another comment

[oslo_messaging_rabbit]
rabbit_quorum_queue = true
kombu_compression = "gzip"
hostname = ${DEFAULT.host}
ssl_ca_file = '/etc/ssl/ca.pem'
long = first
  second
rabbit_qos_prefetch_count = 1
rabbit_qos_prefetch_count = 10
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		section, key, want string
		fails              bool
	}{
		{"DEFAULT", "transport_url", "rabbit://openstack:s3cret$@rabbit-1:5672,openstack:s3cret$@rabbit-2:5672/", false},
		{"DEFAULT", "control_exchange", "cinder", false},
		{"oslo_messaging_rabbit", "kombu_compression", "gzip", false},
		{"oslo_messaging_rabbit", "ssl_ca_file", "/etc/ssl/ca.pem", false},
		{"oslo_messaging_rabbit", "long", "first\nsecond", false},
		{"oslo_messaging_rabbit", "rabbit_qos_prefetch_count", "10", false},
		{"oslo_messaging_rabbit", "hostname", "", true}, // no [DEFAULT] host
	} {
		got, _, ok, err := f.get(tc.section, tc.key)
		if tc.fails != (err != nil) || !tc.fails && (!ok || got != tc.want) {
			t.Errorf("[%s] %s = %q, %v, %v; want %q (fails %v)", tc.section, tc.key, got, ok, err, tc.want, tc.fails)
		}
	}
	for _, bad := range []string{"key = before a section\n", "[DEFAULT]\n  continued\n", "[DEFAULT\n", "[DEFAULT]\nno separator\n"} {
		if _, err := parseOsloFile("x.conf", []byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestOsloConfigFile: a daemon joins a fleet with the settings of a
// service's oslo.config file; its own keys override them.
func TestOsloConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "cinder.conf")
	if err := os.WriteFile(conf, []byte(`[DEFAULT]
transport_url = rabbit://openstack:pw@rabbit-1:5672/
control_exchange = cinder

[oslo_messaging_rabbit]
rabbit_quorum_queue = true
rabbit_transient_quorum_queue = true
rabbit_stream_fanout = true
rabbit_qos_prefetch_count = 10
use_queue_manager = true
kombu_compression = gzip
heartbeat_in_pthread = false
rabbit_quroum_max_memory_length = 100
some_future_option = 1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	yamlFile := filepath.Join(dir, "wasmrpcd.yaml")
	c, err := parse([]byte("oslo_config_file: cinder.conf\nrabbit: {rabbit_qos_prefetch_count: 20}\n"), yamlFile, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.TransportURL != "rabbit://openstack:pw@rabbit-1:5672/" || c.ControlExchange != "cinder" || c.OsloConfigFile != conf {
		t.Errorf("transport_url %q, control_exchange %q, oslo_config_file %q", c.TransportURL, c.ControlExchange, c.OsloConfigFile)
	}
	want := map[string]string{
		"rabbit_quorum_queue": "true", "rabbit_transient_quorum_queue": "true", "rabbit_stream_fanout": "true",
		"rabbit_qos_prefetch_count": "20", "use_queue_manager": "true", "kombu_compression": "gzip",
		"heartbeat_in_pthread": "false", "rabbit_quroum_max_memory_length": "100",
	}
	if !reflect.DeepEqual(c.Rabbit, want) {
		t.Errorf("rabbit %v, want %v", c.Rabbit, want)
	}
	o, _, err := c.TransportOptions()
	if err != nil || !o.StreamFanout || o.PrefetchCount != 20 || o.QuorumMaxMemoryLength != 100 || o.ControlExchange != "cinder" {
		t.Errorf("transport options %+v, %v", o, err)
	}
	warnings := strings.Join(c.Warnings(), "\n")
	for _, w := range []string{
		"cinder.conf:14: [oslo_messaging_rabbit] some_future_option is no option",
		"cinder.conf:12: heartbeat_in_pthread was removed in oslo.messaging 17.0",
		"its value applies to rabbit_quorum_max_memory_length",
	} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings %q lack %q", warnings, w)
		}
	}
	settings := map[string]RabbitSetting{}
	for _, s := range c.RabbitSettings() {
		settings[s.Name] = s
	}
	for name, want := range map[string]RabbitSetting{
		"rabbit_qos_prefetch_count": {"rabbit_qos_prefetch_count", "20", yamlFile + ":2"},
		"rabbit_stream_fanout":      {"rabbit_stream_fanout", "true", conf + ":8"},
		"amqp_durable_queues":       {"amqp_durable_queues", "false", "default"},
	} {
		if settings[name] != want {
			t.Errorf("setting %+v, want %+v", settings[name], want)
		}
	}
	if _, listed := settings["rabbit_use_ssl"]; listed {
		t.Error("a removed option that is not set is listed")
	}

	// A bad value in the oslo file names its line.
	if err := os.WriteFile(conf, []byte("[oslo_messaging_rabbit]\nrabbit_qos_prefetch_count = many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = parse([]byte("transport_url: rabbit://\noslo_config_file: cinder.conf\n"), yamlFile, testEnv)
	if err == nil || !strings.Contains(err.Error(), "cinder.conf:2: [oslo_messaging_rabbit] rabbit_qos_prefetch_count: not an integer") {
		t.Errorf("error %v", err)
	}
}

func TestTransportURLSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "url")
	if err := os.WriteFile(file, []byte("rabbit://file:pw@file-host/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yamlFile := filepath.Join(dir, "wasmrpcd.yaml")
	for _, tc := range []struct{ yaml, want, fails string }{
		{"transport_url_file: url\n", "rabbit://file:pw@file-host/", ""},
		{"transport_url_env: BROKER_URL\n", "rabbit://env:pw@env-host/", ""},
		{"transport_url_env: NOT_SET\n", "", "the environment variable NOT_SET is not set"},
		{"transport_url_file: missing\n", "", "no such file"},
	} {
		c, err := parse([]byte(tc.yaml), yamlFile, testEnv)
		switch {
		case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.fails)
		case tc.fails == "" && err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case tc.fails == "" && c.TransportURL != tc.want:
			t.Errorf("%q: transport_url %q", tc.yaml, c.TransportURL)
		}
	}
}
