package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBad(t *testing.T) {
	const url = "transport_url: rabbit://guest:guest@127.0.0.1:5672/\n" // line 1
	for _, tc := range []struct {
		name string
		yaml string
		want []string // the lines of the error, after "wasmrpcd.yaml:"
	}{
		// The file as a whole.
		{"empty file", "", []string{` transport_url: required, such as rabbit://guest:guest@127.0.0.1:5672/`}},
		{"comments only", "# nothing\n", []string{` transport_url: required, such as rabbit://guest:guest@127.0.0.1:5672/`}},
		{"syntax", url + "tenants: [1\n", []string{`2: YAML syntax: did not find expected ',' or ']'`}},
		{"syntax, block", url + "modules:\n  - a\n  b: 1\n", []string{`3: YAML syntax: did not find expected '-' indicator`}},
		{"tab", url + "\tserver: a\n", []string{`2: YAML syntax: found a tab character that violates indentation`}},
		{"two documents", url + "---\nserver: a\n", []string{`2: more than one YAML document (remove the second ---)`}},
		{"not a mapping", "- a\n- b\n", []string{`1: want a mapping, got a list`}},
		{"unknown anchor", url + "server: *nope\n", []string{` YAML syntax: unknown anchor 'nope' referenced`}},
		{"repeated key", url + "server: a\nserver: b\n", []string{`3: server: key "server" appears twice (first on line 2)`}},
		{"key not a string", url + "[a]: 1\n", []string{`2: a key must be a plain string, not a list`}},

		// Unknown keys.
		{"unknown key, near miss", url + "servr: a\n", []string{`2: servr: unknown key (did you mean "server"?)`}},
		{"unknown key, oslo name without prefix", url + "rabbit:\n  qos_prefetch_count: 1\n  durable_queues: true\n", []string{
			`3: rabbit.qos_prefetch_count: unknown key (did you mean "rabbit_qos_prefetch_count"?)`,
			`4: rabbit.durable_queues: unknown key (did you mean "amqp_durable_queues"?)`,
		}},
		{"unknown key, a typo", url + "rabbit: {rabbit_qourum_queue: true}\n", []string{
			`2: rabbit.rabbit_qourum_queue: unknown key (did you mean "rabbit_quorum_queue"?)`,
		}},
		{"unknown key, far off", url + "log: {colour: true}\n", []string{
			`2: log.colour: unknown key (known keys: format, level)`,
		}},
		{"unknown module key", url + "modules:\n  - {name: a, path: a.wasm, topic: a, tennant: default}\n", []string{
			`3: modules[0].tennant: unknown key (did you mean "tenant"?)`,
		}},

		// Types.
		{"integer", url + "executor_threads: many\n", []string{`2: executor_threads: want an integer, got "many"`}},
		{"float for integer", url + "executor_threads: 1.5\n", []string{`2: executor_threads: want an integer, got 1.5`}},
		{"huge integer", url + "executor_threads: 99999999999999999999\n", []string{`2: executor_threads: want an integer, got 99999999999999999999`}},
		{"integer out of int32", url + "executor_threads: 9999999999\n", []string{`2: executor_threads: integer 9999999999 is out of range`}},
		{"boolean", url + "rabbit: {amqp_durable_queues: maybe}\n", []string{`2: rabbit.amqp_durable_queues: want true or false, got "maybe"`}},
		{"string given a mapping", url + "server: {a: 1}\n", []string{`2: server: want a string, got a mapping`}},
		{"mapping given a string", url + "log: debug\n", []string{`2: log: want a mapping, got "debug"`}},
		{"list given a string", url + "modules: testkit\n", []string{`2: modules: want a list, got "testkit"`}},
		{"string list given a string", url + "tenants: {default: {notification_topics: testkit_seen}}\n", []string{
			`2: tenants.default.notification_topics: want a list, got "testkit_seen" (write [testkit_seen])`,
		}},
		{"null in a string list", url + "tenants: {default: {notification_topics: [a, ~]}}\n", []string{
			`2: tenants.default.notification_topics[1]: want a string, got null`,
		}},
		{"null module", url + "modules:\n  -\n", []string{`3: modules[0]: want a module (name, path, topic, …), got null`}},
		{"module is a list", url + "modules:\n  - [a]\n", []string{`3: modules[0]: want a mapping, got a list`}},
		{"tenants is a list", url + "tenants: [default]\n", []string{`2: tenants: want a mapping of names, got a list`}},

		// Sizes and durations.
		{"decimal size unit", url + "tenants: {default: {memory_limit: 64MB}}\n", []string{
			`2: tenants.default.memory_limit: size "64MB" has unknown unit "MB" (use B, KiB, MiB, GiB or TiB)`,
		}},
		{"fractional size", url + "tenants: {default: {memory_limit: 1.5GiB}}\n", []string{
			`2: tenants.default.memory_limit: size "1.5GiB" is not a whole number (use a smaller unit)`,
		}},
		{"negative size", url + "tenants: {default: {max_result_size: -1}}\n", []string{
			`2: tenants.default.max_result_size: size "-1" is negative`,
		}},
		{"size list", url + "tenants: {default: {max_result_size: [1]}}\n", []string{
			`2: tenants.default.max_result_size: want a size such as 64MiB, got a list`,
		}},
		{"size overflow", url + "tenants: {default: {memory_limit: 99999999999GiB}}\n", []string{
			`2: tenants.default.memory_limit: size "99999999999GiB" is too large`,
		}},
		{"seconds, not a duration", url + "rabbit: {heartbeat_timeout_threshold: 60 s}\n", []string{
			`2: rabbit.heartbeat_timeout_threshold: want whole seconds, such as 60 or 60s: time: unknown unit " s" in duration "60 s"`,
		}},
		{"bad duration", url + "shutdown_timeout: soon\n", []string{
			`2: shutdown_timeout: duration "soon" is not valid (want a number and a unit, such as 30s, 1m or 250ms)`,
		}},

		// Top-level values.
		{"no transport_url", "server: a\n", []string{` transport_url: required, such as rabbit://guest:guest@127.0.0.1:5672/`}},
		{"transport_url scheme", "transport_url: http://user:secret@h/\n", []string{
			`1: transport_url: unsupported scheme "http" (want rabbit:// or amqp://)`,
		}},
		{"transport_url without scheme, password not echoed", "transport_url: user:secret@h\n", []string{
			`1: transport_url: want rabbit://[user:pass@]host[:port][,[user:pass@]host2[:port]]/[vhost]`,
		}},
		{"empty control_exchange", url + "control_exchange: ''\n", []string{`2: control_exchange: must not be empty`}},
		{"server with a space", url + "server: host a\n", []string{`2: server: "host a" contains ' '`}},
		{"admin_listen without port", url + "admin_listen: localhost\n", []string{
			`2: admin_listen: want host:port, such as 127.0.0.1:9464, got "localhost"`,
		}},
		{"admin_listen unix without path", url + "admin_listen: 'unix:'\n", []string{
			`2: admin_listen: want unix:/path/of/the.sock, got no path`,
		}},
		{"admin_listen unix path too long", url + "admin_listen: unix:/" + strings.Repeat("s", 120) + "\n", []string{
			`2: admin_listen: the socket's path is 121 bytes long, more than a unix socket's 107`,
		}},
		{"admin limits", url + "admin: {socket_mode: '0666', read_header_timeout: 0s, read_timeout: -1s, write_timeout: 0s, idle_timeout: 0s, max_header_bytes: 100B, max_connections: 0}\n", []string{
			`2: admin.socket_mode: unknown socket mode "0666" (did you mean "0660"?)`,
			`2: admin.read_header_timeout: must be positive, got 0s`,
			`2: admin.read_timeout: must be positive, got -1s`,
			`2: admin.write_timeout: must be positive, got 0s`,
			`2: admin.idle_timeout: must be positive, got 0s`,
			`2: admin.max_header_bytes: must be from 1KiB to 1MiB, got 100B`,
			`2: admin.max_connections: must be at least 1, got 0`,
		}},
		{"admin unknown key", url + "admin: {token: x}\n", []string{
			`2: admin.token: unknown key (did you mean "token_file"?)`,
		}},
		{"admin_listen bad port", url + "admin_listen: localhost:http\n", []string{
			`2: admin_listen: port "http" is not a number from 0 to 65535`,
		}},
		{"zero limits", url + "executor_threads: 0\nshutdown_timeout: 0s\n", []string{
			`2: executor_threads: must be at least 1, got 0`,
			`3: shutdown_timeout: must be positive, got 0s`,
		}},
		{"log enums", url + "log: {level: warning, format: xml}\n", []string{
			`2: log.level: unknown level "warning" (did you mean "warn"?)`,
			`2: log.format: unknown format "xml" (want one of text, json)`,
		}},

		// Rabbit options.
		{"rabbit ranges", url + `rabbit:
  heartbeat_timeout_threshold: 1500ms
  rabbit_qos_prefetch_count: 70000
  rabbit_quorum_delivery_limit: -1
  rabbit_quorum_max_memory_length: -1
  rabbit_transient_queues_ttl: -1
  rabbit_retry_interval: -1
  rabbit_retry_backoff: -1s
  rabbit_interval_max: 0s
  kombu_reconnect_delay: -1s
  kombu_missing_consumer_retry_timeout: 0s
  kombu_failover_strategy: random
`, []string{
			`3: rabbit.heartbeat_timeout_threshold: 1500ms is not a whole number of seconds`,
			`4: rabbit.rabbit_qos_prefetch_count: must be at most 65535`,
			`5: rabbit.rabbit_quorum_delivery_limit: must be at least 0`,
			`6: rabbit.rabbit_quorum_max_memory_length: must be at least 0`,
			`7: rabbit.rabbit_transient_queues_ttl: must be at least 0`,
			`8: rabbit.rabbit_retry_interval: must not be negative`,
			`9: rabbit.rabbit_retry_backoff: must be at least 0`,
			`10: rabbit.rabbit_interval_max: must be at least 1`,
			`11: rabbit.kombu_reconnect_delay: not a number of seconds from 0 to 4.5`,
			`12: rabbit.kombu_missing_consumer_retry_timeout: must be at least 1`,
			`13: rabbit.kombu_failover_strategy: want one of round-robin, shuffle`,
		}},
		{"quorum and HA", url + "rabbit:\n  rabbit_ha_queues: true\n  rabbit_quorum_queue: true\n", []string{
			`4: rabbit.rabbit_quorum_queue: rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both`,
		}},
		{"stream fanout alone", url + "rabbit:\n  rabbit_stream_fanout: true\n", []string{
			`3: rabbit.rabbit_stream_fanout: rabbit_stream_fanout needs rabbit_transient_quorum_queue`,
		}},
		{"ssl half a key pair", url + "rabbit:\n  ssl: true\n  ssl_cert_file: c.pem\n", []string{
			`4: rabbit.ssl_cert_file: ssl_cert_file and ssl_key_file go together: set both or neither`,
		}},
		{"ssl version", url + "rabbit:\n  ssl_version: sslv3\n", []string{
			`3: rabbit.ssl_version: ssl_version sslv3: SSL 2 and 3 are broken and not supported; use tlsv1_2 or leave it empty`,
		}},
		{"a codec wasmrpcd reads only", url + "rabbit:\n  kombu_compression: bzip2\n", []string{
			`3: rabbit.kombu_compression: kombu_compression bzip2: wasmrpcd reads bzip2 messages but cannot write them; choose gzip, lzma, zstd or brotli`,
		}},
		{"bz2 is no codec", url + "rabbit: {kombu_compression: bz2}\n", []string{
			`2: rabbit.kombu_compression: compression: unknown compression method: "bz2" is not a kombu compression name (kombu fails to publish with it, whatever oslo.messaging's help says): use bzip2`,
		}},
		{"transport URL query", "transport_url: rabbit://h/?rabbit_qos_prefetch_count=x&use_queue_manager=1\n", []string{
			`1: transport_url: its query: rabbit_qos_prefetch_count="x": not an integer`,
		}},
		{"transport URL with a comma in its password", "transport_url: rabbit://guest:s3cr,et@h/\n", []string{
			`1: transport_url: a host without a user name comes before one with it: a password holding ',' must percent-encode it (%2C); otherwise name the user of every host, or list the hosts without one last`,
		}},
		{"transport URL with a slash in its password", "transport_url: rabbit://guest:1234/5678@h\n", []string{
			`1: transport_url: an '@' after the hosts: a user name or password holding '/', '?' or '#' must percent-encode them (%2F, %3F, %23); a virtual host or query holding '@', as %40`,
		}},
		{"several transport URLs", url + "transport_url_env: X\n", []string{
			`2: transport_url_env: give one of transport_url, transport_url_env, not several`,
		}},

		// Tenants.
		{"tenant name", url + "tenants:\n  Gold: {}\n  \"a b\": {}\n", []string{
			`3: tenants.Gold: tenant name "Gold" must be 1 to 64 of a-z, 0-9, _ and -`,
			`4: tenants."a b": tenant name "a b" must be 1 to 64 of a-z, 0-9, _ and -`,
		}},
		{"tenant limits", url + `tenants:
  t:
    memory_limit: 32KiB
    call_timeout: -1s
    max_instances: 0
    max_result_size: 0
    max_concurrency: 0
  u: {memory_limit: 100000, max_result_size: 4GiB}
  v: {memory_limit: 8GiB}
`, []string{
			`4: tenants.t.memory_limit: must be from 64KiB (one wasm page) to 4GiB, got 32KiB`,
			`5: tenants.t.call_timeout: must be positive, got -1s`,
			`6: tenants.t.max_instances: must be at least 1, got 0`,
			`7: tenants.t.max_result_size: must be from 1B to 4GiB-1B, got 0`,
			`8: tenants.t.max_concurrency: must be at least 1, got 0`,
			`9: tenants.u.memory_limit: must be a multiple of 64KiB (the wasm page), got 100000B`,
			`9: tenants.u.max_result_size: must be from 1B to 4GiB-1B, got 4GiB`,
			`10: tenants.v.memory_limit: must be from 64KiB (one wasm page) to 4GiB, got 8GiB`,
		}},
		{"tenant budgets", url + `tenants:
  t:
    log_rate: -1
    host_call_rate: -1
    notification_rate: 5
    notification_burst: 0
    max_notification_size: 0
    guest_log_level: verbose
    guest_log_max_level: eror
  u: {log_rate: 1KiB, log_burst: 4KiB, host_call_rate: 10, host_call_burst: 0, guest_log_level: error, guest_log_max_level: info}
  v: {log_rate: 0, log_burst: 0, host_call_rate: 0, host_call_burst: 0, notification_rate: 0, notification_burst: 0}
  w: {log_rate: 1.5KiB, host_call_rate: 1.5}
`, []string{
			`4: tenants.t.log_rate: size "-1" is negative`,
			`5: tenants.t.host_call_rate: must be 0 (no limit) or more a second, got -1`,
			`7: tenants.t.notification_burst: must be at least 1, got 0`,
			`8: tenants.t.max_notification_size: must be from 1B to 4GiB-1B, got 0`,
			`9: tenants.t.guest_log_level: unknown level "verbose" (want one of debug, info, warn, error)`,
			`10: tenants.t.guest_log_max_level: unknown level "eror" (did you mean "error"?)`,
			`11: tenants.u.log_burst: must be at least 8KiB (the longest guest log line), got 4KiB`,
			`11: tenants.u.host_call_burst: must be at least 1, got 0`,
			`11: tenants.u.guest_log_max_level: info is below guest_log_level error: no guest line would be kept`,
			`13: tenants.w.log_rate: size "1.5KiB" is not a whole number (use a smaller unit)`,
			`13: tenants.w.host_call_rate: want an integer, got 1.5`,
		}},
		{"publish budget", url + "tenants:\n  t: {publish_rate: -1}\n  u: {publish_rate: 1MiB, publish_burst: 1KiB}\n  v: {publish_rate: 0, publish_burst: 0}\n", []string{
			`3: tenants.t.publish_rate: size "-1" is negative`,
			`4: tenants.u.publish_burst: must be at least 64KiB (the largest message a guest may send), got 1KiB`,
		}},
		{"cpu_nice", url + "tenants:\n  t: {cpu_nice: -1}\n  u: {cpu_nice: 20}\n  v: {cpu_nice: 5.5}\n", []string{
			`3: tenants.t.cpu_nice: must be from 0 (the daemon's priority) to 19, got -1`,
			`4: tenants.u.cpu_nice: must be from 0 (the daemon's priority) to 19, got 20`,
			`5: tenants.v.cpu_nice: want an integer, got 5.5`,
		}},
		{"chain bounds", url + "tenants:\n  t: {max_hops: 0, max_sends_per_request: -1}\n  u: {max_hops: 65537}\n", []string{
			`3: tenants.t.max_hops: must be from 1 to 65536, got 0`,
			`3: tenants.t.max_sends_per_request: must be at least 1, got -1`,
			`4: tenants.u.max_hops: must be from 1 to 65536, got 65537`,
		}},
		{"max_concurrency follows a bad max_instances silently", url + "tenants: {t: {max_instances: -2}}\n", []string{
			`2: tenants.t.max_instances: must be at least 1, got -2`,
		}},
		{"rpc_targets", url + `tenants:
  t:
    rpc_targets:
      - ""
      - "a b"
      - /x
      - a/b/c
      - x@
      - x@*
      - "@s"
`, []string{
			`5: tenants.t.rpc_targets[0]: empty target (want "topic", "exchange/topic", "topic@server" or "*")`,
			`6: tenants.t.rpc_targets[1]: target "a b" contains ' '`,
			`7: tenants.t.rpc_targets[2]: target "/x" has an empty exchange before "/"`,
			`8: tenants.t.rpc_targets[3]: target "a/b/c" has more than one "/" (want "exchange/topic")`,
			`9: tenants.t.rpc_targets[4]: target "x@" has an empty server after "@"`,
			`10: tenants.t.rpc_targets[5]: target "x@*": a server of "*" is the same as none; write "x"`,
			`11: tenants.t.rpc_targets[6]: target "@s" has an empty topic`,
		}},
		{"context_hidden_keys", url + "tenants: {t: {context_hidden_keys: ['', _context_auth_token, user, user]}}\n", []string{
			`2: tenants.t.context_hidden_keys[0]: must not be empty`,
			`2: tenants.t.context_hidden_keys[1]: "_context_auth_token": name the key as the context has it, without the wire's prefix (write "auth_token")`,
			`2: tenants.t.context_hidden_keys[3]: key "user" is listed twice`,
		}},
		{"context_hidden_keys given a string", url + "tenants: {t: {context_hidden_keys: auth_token}}\n", []string{
			`2: tenants.t.context_hidden_keys: want a list, got "auth_token" (write [auth_token])`,
		}},
		{"notification_topics", url + "tenants: {t: {notification_topics: ['', 'a b']}}\n", []string{
			`2: tenants.t.notification_topics[0]: must not be empty`,
			`2: tenants.t.notification_topics[1]: "a b" contains ' '`,
		}},

		// Modules.
		{"unknown tenant", url + `tenants: {}
modules:
  - name: testkit
    path: modules/testkit/testkit.wasm
    topic: testkit
    tenant: gold
`, []string{`7: modules[0].tenant: unknown tenant "gold" (tenants are: default)`}},
		{"unknown tenant, near miss", url + "modules:\n  - {name: a, path: a.wasm, topic: a, tenant: defualt}\n", []string{
			`3: modules[0].tenant: unknown tenant "defualt" (did you mean "default"?)`,
		}},
		{"module names", url + `modules:
  - {path: a.wasm, topic: a}
  - {name: Big, path: b.wasm, topic: b}
  - {name: c, path: c.wasm, topic: c}
  - {name: c, path: d.wasm, topic: d}
`, []string{
			`3: modules[0].name: required`,
			`4: modules[1].name: "Big" must be 1 to 64 of a-z, 0-9, _ and -`,
			`6: modules[3].name: "c" is already the name of modules[2], line 5`,
		}},
		{"module files", url + `modules:
  - {name: a, topic: a}
  - {name: b, topic: b, sha256: 0000000000000000000000000000000000000000000000000000000000000000}
  - {name: c, topic: c, path: c.wasm, versions: [{path: c.wasm}]}
  - {name: d, topic: d, versions: [{path: d.wasm}], sha256: 00}
  - {name: e, topic: e, versions: []}
  - {name: f, topic: f, path: ''}
  - {name: g, topic: g, path: g.wasm, sha256: abc}
  - name: h
    topic: h
    versions:
      - {path: h.wasm, sha256: zz00000000000000000000000000000000000000000000000000000000000000}
      - {path: ./h.wasm}
      - {sha256: 0000000000000000000000000000000000000000000000000000000000000000}
      - {path: i.wasm, size: 1}
`, []string{
			`3: modules[0].path: required (or versions, a list of {path, sha256})`,
			`4: modules[1].path: required (or versions, a list of {path, sha256})`,
			`5: modules[2].path: give either path or versions, not both`,
			`6: modules[3].sha256: goes with path; with versions, give each version its own sha256`,
			`7: modules[4].versions: must list at least one {path, sha256}`,
			`8: modules[5].path: must not be empty`,
			`9: modules[6].sha256: want 64 hex digits, got 3 characters`,
			`13: modules[7].versions[0].sha256: want 64 hex digits, got 'z'`,
			`14: modules[7].versions[1].path: same file as versions[0]`,
			`15: modules[7].versions[2].path: must not be empty`,
			`16: modules[7].versions[3].size: unknown key (known keys: path, sha256)`,
		}},
		{"module targets", url + `modules:
  - {name: a, path: a.wasm}
  - {name: b, path: b.wasm, topic: '', notification_pool: p}
  - {name: c, path: c.wasm, topic: "c c", server: '', exchange: "e e"}
  - {name: d, path: d.wasm, topic: t, server: "s s", notification_topics: [n, '', n], notification_pool: "p p"}
`, []string{
			`3: modules[0].topic: required unless notification_topics is given`,
			`4: modules[1].topic: required unless notification_topics is given`,
			`4: modules[1].notification_pool: needs notification_topics`,
			`5: modules[2].exchange: "e e" contains ' '`,
			`5: modules[2].topic: "c c" contains ' '`,
			`6: modules[3].server: "s s" contains ' '`,
			`6: modules[3].notification_pool: "p p" contains ' '`,
			`6: modules[3].notification_topics[1]: must not be empty`,
			`6: modules[3].notification_topics[2]: topic "n" is listed twice (also modules[3].notification_topics[0], line 6)`,
		}},
		{"two modules on one topic", url + `modules:
  - {name: a, path: a.wasm, topic: t}
  - {name: b, path: b.wasm, topic: t, server: other}
`, []string{
			`4: modules[1].topic: topic "t" on exchange "openstack" is already served by module "a" (modules[0], line 3); serve versions of one module with versions`,
		}},
		{"two listeners in one pool", url + `modules:
  - {name: a, path: a.wasm, notification_topics: [n]}
  - {name: b, path: b.wasm, notification_topics: [n]}
  - {name: c, path: c.wasm, notification_topics: [m], notification_pool: p}
  - {name: d, path: d.wasm, notification_topics: [m], notification_pool: p}
`, []string{
			`4: modules[1].notification_topics[0]: module "a" (modules[0], line 3) already listens to topic "n" without a notification_pool; listeners in one pool share the notifications, so give each its own notification_pool`,
			`6: modules[3].notification_topics[0]: module "c" (modules[2], line 5) already listens to topic "m" in pool "p"; listeners in one pool share the notifications, so give each its own notification_pool`,
		}},

		// Several problems at once, decode and validation mixed, sorted by line.
		{"many at once", `transport_url: rabbit://h/
executor_threads: x
tenants:
  default: {memory_limit: 64MB, max_instances: 0}
modules:
  - name: a
    path: a.wasm
    topic: a
    tenant: gold
  - {name: a, path: b.wasm, topic: b, extra: 1}
`, []string{
			`2: executor_threads: want an integer, got "x"`,
			`4: tenants.default.memory_limit: size "64MB" has unknown unit "MB" (use B, KiB, MiB, GiB or TiB)`,
			`4: tenants.default.max_instances: must be at least 1, got 0`,
			`9: modules[0].tenant: unknown tenant "gold" (tenants are: default)`,
			`10: modules[1].extra: unknown key (known keys: exchange, name, notification_allow_requeue, notification_pool, notification_topics, path, server, sha256, tenant, topic, versions)`,
			`10: modules[1].name: "a" is already the name of modules[0], line 6`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse([]byte(tc.yaml), "wasmrpcd.yaml", testEnv)
			if err == nil {
				t.Fatalf("parse accepted it: %+v", c)
			}
			if c != nil {
				t.Errorf("parse returned a Config with its error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			want := "wasmrpcd.yaml:" + strings.Join(tc.want, "\nwasmrpcd.yaml:")
			if got := err.Error(); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			if len(ce.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d", len(ce.Problems), len(tc.want))
			}
		})
	}
}
