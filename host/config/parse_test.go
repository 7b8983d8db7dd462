package config

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// testFile is where the test configs claim to live.
const testFile = "/etc/wasmrpcd/wasmrpcd.yaml"

// testEnv is a machine whose host name is host-a and whose user is not
// root.
var testEnv = env{
	hostname:     func() (string, error) { return "host-a", nil },
	euid:         1000,
	userCacheDir: func() (string, error) { return "/home/u/.cache", nil },
	userStateDir: func() (string, error) { return "/home/u/.local/state", nil },
	getenv:       func(k string) string { return map[string]string{"BROKER_URL": "rabbit://env:pw@env-host/"}[k] },
}

// expect returns the Config that Parse returns in testEnv for a file
// setting only transport_url, changed by edit.
func expect(edit func(c *Config)) *Config {
	c := Default()
	c.TransportURL = "rabbit://guest:guest@127.0.0.1:5672/"
	c.Server = "host-a"
	c.CacheDir = "/home/u/.cache/wasmrpcd"
	c.CacheKeyFile = "/home/u/.local/state/wasmrpcd/cache.key"
	c.file = testFile
	edit(c)
	return c
}

// testkit is the module of the design's example, after Parse.
func testkit() Module {
	return Module{
		Name:     "testkit",
		Versions: []ModuleFile{{Path: "/etc/wasmrpcd/modules/testkit/testkit.wasm"}},
		Topic:    "testkit", Server: "host-a", Exchange: "openstack", Tenant: "default",
	}
}

func TestParseGood(t *testing.T) {
	const url = "transport_url: rabbit://guest:guest@127.0.0.1:5672/\n"
	for _, tc := range []struct {
		name string
		yaml string
		want *Config
	}{
		{"minimal", url, expect(func(*Config) {})},
		{"design example", `
transport_url: rabbit://guest:guest@127.0.0.1:5672/
control_exchange: openstack
server: host-a                 # this daemon's Target.server; default: hostname
admin_listen: 127.0.0.1:9464   # /metrics, /healthz, /readyz, module admin
cache_dir: /var/cache/wasmrpcd # compiled-module cache
tenants:
  default: {memory_limit: 64MiB, call_timeout: 30s, max_instances: 8}
modules:
  - name: testkit
    path: modules/testkit/testkit.wasm
    topic: testkit             # RPC target topic; namespace/version come from the module manifest
    tenant: default
`, expect(func(c *Config) {
			c.CacheDir = "/var/cache/wasmrpcd"
			c.Modules = []Module{testkit()}
		})},
		{"every key", `
transport_url: amqp://u:p@h1:5672,u:p@h2:5673/vhost
control_exchange: nova
server: compute-1.example.org
admin_listen: "[::1]:0"
admin: {token_file: admin.token, socket_mode: "0660", read_header_timeout: 2s, read_timeout: 3s, write_timeout: 4s, idle_timeout: 5s, max_header_bytes: 8KiB, max_connections: 10}
cache_dir: cache
cache_key_file: keys/cache.key
max_module_size: 32MiB
executor_threads: 16
shutdown_timeout: 1m30s
log: {level: debug, format: json}
rabbit:
  heartbeat_timeout_threshold: 0s
  rabbit_qos_prefetch_count: 100
  rabbit_quorum_queue: true
  rabbit_quorum_delivery_limit: 5
  rabbit_quorum_max_memory_length: 1000
  rabbit_quorum_max_memory_bytes: 16MiB
  rabbit_transient_queues_ttl: 10m
  rabbit_ha_queues: false
  amqp_durable_queues: true
  amqp_auto_delete: true
  rabbit_retry_interval: 2s
  rabbit_retry_backoff: 0s
  rabbit_interval_max: 1m
  kombu_reconnect_delay: 0s
  kombu_missing_consumer_retry_timeout: 2m
  kombu_failover_strategy: shuffle
  ssl: true
  ssl_ca_file: certs/ca.pem
  ssl_cert_file: /etc/pki/client.pem
  ssl_key_file: certs/client.key
  ssl_enforce_hostname_verification: true
tenants:
  gold:
    memory_limit: 1GiB
    call_timeout: 2s
    max_instances: 4
    max_result_size: 1048576
    stack_limit: 8MiB
    max_concurrency: 2
    cpu_nice: 10
    max_hops: 3
    max_sends_per_request: 5
    rpc_targets: ["*", volumes, "volumes@host-b", "cinder/volume", "*/x", "nova/*", "cinder/cinder-volume@host@lvm", ironic.conductor_manager]
    notification_topics: [notifications, "*"]
    context_hidden_keys: [auth_token, password]
    log_rate: 64KiB
    log_burst: 128KiB
    publish_rate: 1MiB
    publish_burst: 4MiB
    host_call_rate: 0
    host_call_burst: 5
    notification_rate: 10
    notification_burst: 20
    max_notification_size: 1MiB
    guest_log_level: info
    guest_log_max_level: warn
modules:
  - name: vol_2-a
    versions:
      - path: /opt/vol-1.0.wasm
        sha256: ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789
      - {path: ../vol-1.1.wasm}
    topic: volumes
    server: other
    exchange: cinder
    tenant: gold
    notification_topics: [notifications, audit]
    notification_pool: vol-pool
`, &Config{
			TransportURL: "amqp://u:p@h1:5672,u:p@h2:5673/vhost", ControlExchange: "nova",
			Server: "compute-1.example.org", AdminListen: "[::1]:0", CacheDir: "/etc/wasmrpcd/cache",
			CacheKeyFile: "/etc/wasmrpcd/keys/cache.key", MaxModuleSize: 32 * MiB,
			Admin: Admin{TokenFile: "/etc/wasmrpcd/admin.token", SocketMode: "0660",
				ReadHeaderTimeout: Duration(2 * time.Second), ReadTimeout: Duration(3 * time.Second),
				WriteTimeout: Duration(4 * time.Second), IdleTimeout: Duration(5 * time.Second),
				MaxHeaderBytes: 8 * KiB, MaxConnections: 10},
			ExecutorThreads: 16, ShutdownTimeout: Duration(90 * time.Second),
			Log: Log{Level: "debug", Format: "json"},
			Rabbit: map[string]string{
				"heartbeat_timeout_threshold": "0", "rabbit_qos_prefetch_count": "100", "rabbit_quorum_queue": "true",
				"rabbit_quorum_delivery_limit": "5", "rabbit_quorum_max_memory_length": "1000",
				"rabbit_quorum_max_memory_bytes": "16777216", "rabbit_transient_queues_ttl": "600",
				"rabbit_ha_queues": "false", "amqp_durable_queues": "true", "amqp_auto_delete": "true",
				"rabbit_retry_interval": "2", "rabbit_retry_backoff": "0", "rabbit_interval_max": "60",
				"kombu_reconnect_delay": "0", "kombu_missing_consumer_retry_timeout": "120",
				"kombu_failover_strategy": "shuffle", "ssl": "true", "ssl_ca_file": "/etc/wasmrpcd/certs/ca.pem",
				"ssl_cert_file": "/etc/pki/client.pem", "ssl_key_file": "/etc/wasmrpcd/certs/client.key",
				"ssl_enforce_hostname_verification": "true",
			},
			Tenants: map[string]*Tenant{
				"default": NewTenant("default"),
				"gold": {
					Name: "gold", MemoryLimit: GiB, CallTimeout: Duration(2 * time.Second),
					MaxInstances: 4, MaxResultSize: MiB, StackLimit: 8 * MiB, MaxConcurrency: 2,
					CPUNice: 10, MaxHops: 3, MaxSendsPerRequest: 5,
					RPCTargets: []RPCTarget{
						{Exchange: "*", Topic: "*"},
						{Exchange: "nova", Topic: "volumes"},
						{Exchange: "nova", Topic: "volumes", Server: "host-b"},
						{Exchange: "cinder", Topic: "volume"},
						{Exchange: "*", Topic: "x"},
						{Exchange: "nova", Topic: "*"},
						{Exchange: "cinder", Topic: "cinder-volume", Server: "host@lvm"},
						{Exchange: "nova", Topic: "ironic.conductor_manager"},
					},
					NotificationTopics: []string{"notifications", "*"},
					ContextHiddenKeys:  []string{"auth_token", "password"},
					LogRate:            64 * KiB, LogBurst: 128 * KiB, PublishRate: 1 * MiB, PublishBurst: 4 * MiB,
					HostCallRate: 0, HostCallBurst: 5,
					NotificationRate: 10, NotificationBurst: 20,
					MaxNotificationSize: MiB,
					GuestLogLevel:       "info", GuestLogMaxLevel: "warn",
				},
			},
			Modules: []Module{{
				Name: "vol_2-a",
				Versions: []ModuleFile{
					{Path: "/opt/vol-1.0.wasm", SHA256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
					{Path: "/etc/vol-1.1.wasm"},
				},
				Topic: "volumes", Server: "other", Exchange: "cinder", Tenant: "gold",
				NotificationTopics: []string{"notifications", "audit"}, NotificationPool: "vol-pool",
			}},
			file: testFile,
		}},
		{"null values keep defaults", url + `
server:
control_exchange: ~
cache_dir:
log:
rabbit:
tenants:
  gold:
modules:
  - name: testkit
    path: modules/testkit/testkit.wasm
    topic: testkit
    tenant:
    notification_topics:
`, expect(func(c *Config) {
			c.Tenants["gold"] = NewTenant("gold")
			c.Modules = []Module{testkit()}
		})},
		{"empty admin_listen and cache_dir turn them off", url + "admin_listen: \"\"\ncache_dir: ''\n", expect(func(c *Config) {
			c.AdminListen = ""
			c.CacheDir = ""
			c.CacheKeyFile = "" // no cache, no key
		})},
		{"admin_listen on a unix socket, relative to the file", url + "admin_listen: unix:run/admin.sock\n", expect(func(c *Config) {
			c.AdminListen = "unix:/etc/wasmrpcd/run/admin.sock"
		})},
		{"empty server is the host name", url + "server: ''\n", expect(func(*Config) {})},
		{"max_concurrency follows max_instances", url + "tenants:\n  default: {max_instances: 3}\n  b: {max_instances: 3, max_concurrency: 5}\n", expect(func(c *Config) {
			c.Tenants["default"].MaxInstances = 3
			c.Tenants["default"].MaxConcurrency = 3
			b := NewTenant("b")
			b.MaxInstances, b.MaxConcurrency = 3, 5
			c.Tenants["b"] = b
		})},
		{"context_hidden_keys: null keeps the default, [] hides nothing", url + "tenants:\n  default: {context_hidden_keys: ~}\n  open: {context_hidden_keys: []}\n", expect(func(c *Config) {
			open := NewTenant("open")
			open.ContextHiddenKeys = []string{}
			c.Tenants["open"] = open
		})},
		{"anchors and merge keys", url + `
tenants:
  small: &small {memory_limit: 1MiB, max_instances: 2}
  tiny: {<<: *small, max_instances: 1}
  both: {<<: [{call_timeout: 1s}, *small], memory_limit: 2MiB}
modules:
  - &mod {name: a, path: a.wasm, topic: a}
  - {<<: *mod, name: b, topic: b}
`, expect(func(c *Config) {
			small := NewTenant("small")
			small.MemoryLimit, small.MaxInstances, small.MaxConcurrency = MiB, 2, 2
			tiny := NewTenant("tiny")
			tiny.MemoryLimit, tiny.MaxInstances, tiny.MaxConcurrency = MiB, 1, 1
			both := NewTenant("both")
			both.MemoryLimit, both.MaxInstances, both.MaxConcurrency, both.CallTimeout = 2*MiB, 2, 2, Duration(time.Second)
			c.Tenants["small"], c.Tenants["tiny"], c.Tenants["both"] = small, tiny, both
			for _, n := range []string{"a", "b"} {
				c.Modules = append(c.Modules, Module{Name: n, Versions: []ModuleFile{{Path: "/etc/wasmrpcd/a.wasm"}},
					Topic: n, Server: "host-a", Exchange: "openstack", Tenant: "default"})
			}
		})},
		{"notification-only module and sizes in bytes", url + `
tenants:
  default: {memory_limit: 131072, max_result_size: 512KiB, notification_topics: [testkit_seen]}
modules:
  - {name: listener, path: /l.wasm, notification_topics: [notifications]}
`, expect(func(c *Config) {
			c.Tenants["default"].MemoryLimit = 128 * KiB
			c.Tenants["default"].MaxResultSize = 512 * KiB
			c.Tenants["default"].NotificationTopics = []string{"testkit_seen"}
			c.Modules = []Module{{Name: "listener", Versions: []ModuleFile{{Path: "/l.wasm"}},
				Server: "host-a", Exchange: "openstack", Tenant: "default", NotificationTopics: []string{"notifications"}}}
		})},
		{"same topic on two exchanges, one topic in two pools", url + `
modules:
  - {name: a, path: a.wasm, topic: t, notification_topics: [n], notification_pool: p1}
  - {name: b, path: b.wasm, topic: t, exchange: other, notification_topics: [n], notification_pool: p2}
`, expect(func(c *Config) {
			c.Modules = []Module{
				{Name: "a", Versions: []ModuleFile{{Path: "/etc/wasmrpcd/a.wasm"}}, Topic: "t", Server: "host-a",
					Exchange: "openstack", Tenant: "default", NotificationTopics: []string{"n"}, NotificationPool: "p1"},
				{Name: "b", Versions: []ModuleFile{{Path: "/etc/wasmrpcd/b.wasm"}}, Topic: "t", Server: "host-a",
					Exchange: "other", Tenant: "default", NotificationTopics: []string{"n"}, NotificationPool: "p2"},
			}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse([]byte(tc.yaml), testFile, testEnv)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got.lines, got.rabbitFrom, got.optionWarnings, got.loadWarnings = nil, nil, nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				gy, _ := yaml.Marshal(got)
				wy, _ := yaml.Marshal(tc.want)
				t.Errorf("got:\n%s\nwant:\n%s", gy, wy)
			}
		})
	}
}

func TestParseCacheDirDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  env
		want string
	}{
		{"root", env{hostname: testEnv.hostname, euid: 0}, "/var/cache/wasmrpcd"},
		{"user", testEnv, "/home/u/.cache/wasmrpcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse([]byte("transport_url: rabbit://\n"), testFile, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.CacheDir != tc.want {
				t.Errorf("CacheDir = %q, want %q", c.CacheDir, tc.want)
			}
		})
	}
}

func TestParseMachineDefaultsFail(t *testing.T) {
	e := env{
		hostname:     func() (string, error) { return "", errors.New("no uts") },
		euid:         1000,
		userCacheDir: func() (string, error) { return "", errors.New("neither $XDG_CACHE_HOME nor $HOME are defined") },
	}
	_, err := parse([]byte("transport_url: rabbit://\n"), "w.yaml", e)
	want := "w.yaml: server: no default: cannot find the host name (no uts); set server\n" +
		"w.yaml: cache_dir: no default: neither $XDG_CACHE_HOME nor $HOME are defined; set cache_dir"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
