package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// The RabbitMQ options of oslo.messaging 16 to 18 (which 14.0.3 does not
// have), between a Python oslo.messaging 18.1.0 and the wasmrpcd binary:
// each alone, with what it needs, and all at once as Kolla Ansible sets
// them. {host} is a host name of the test's own, for the queue manager.
var modernSets = []struct {
	name  string
	query string // the Python side's URL query; wasmrpcd gets the same options
	// osloFile gives them to wasmrpcd through an oslo config file, as a
	// daemon joining a service's fleet takes them, instead of its rabbit
	// section.
	osloFile bool
}{
	{name: "transient quorum", query: "rabbit_transient_quorum_queue=true"},
	{name: "stream fanout", query: "rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=10"},
	{name: "queue manager", query: "use_queue_manager=true&hostname={host}"},
	{name: "gzip", query: "kombu_compression=gzip"},
	{name: "kolla", osloFile: true, query: "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true" +
		"&rabbit_qos_prefetch_count=10&use_queue_manager=true&hostname={host}&kombu_compression=gzip"},
}

// modernSetUp makes a test's query of set, the 18.1.0 peer with what the
// options need (the queue manager's oslo.concurrency lock folder) and the
// daemon's options: a rabbit section, or an oslo config file in the
// style of /etc/cinder/cinder.conf that also holds the transport URL and
// the control exchange. It registers the deletion of what the options
// make outlive the test's names: fanout streams, the queue manager's
// queues and its counter file.
func modernSetUp(t *testing.T, peer oslopeer.Peer, n *names, exchange, topic, rawQuery string, osloFile bool) (query string, _ oslopeer.Peer, cfg daemonConfig) {
	t.Helper()
	host := "e2ehost" + n.prefix[len("e2e_"):]
	query = strings.ReplaceAll(rawQuery, "{host}", host)
	peer.Env = append(slices.Clone(peer.Env), "OSLO_LOCK_PATH="+t.TempDir())
	n.addQueue(topic + "_fanout") // the stream
	t.Cleanup(func() {
		for _, line := range strings.Split(string(brokertest.Rabbitmqctl(t, "list_queues", "name", "--quiet", "--no-table-headers")), "\n") {
			if name := strings.TrimSpace(line); strings.Contains(name, host) {
				n.addQueue(name) // deleted after this, with the test's names
			}
		}
		files, _ := filepath.Glob("/dev/shm/" + host + "_*_qmanager")
		for _, f := range files {
			os.Remove(f)
		}
	})
	options := map[string]any{}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		options[k] = v
	}
	cfg = testkitConfig(exchange, topic, "wasm")
	if !osloFile {
		cfg.Rabbit = options
		return query, peer, cfg
	}
	var ini strings.Builder
	fmt.Fprintf(&ini, "[DEFAULT]\n# A service's own settings, then the messaging ones.\ndebug = true\ntransport_url = %s\ncontrol_exchange = %s\n\n[oslo_messaging_rabbit]\n", rabbitURL(""), exchange)
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&ini, "%s = %s\n", k, v)
	}
	fmt.Fprintf(&ini, "\n[database]\nconnection = mysql+pymysql://cinder:secret@db/cinder\n")
	file := filepath.Join(t.TempDir(), "cinder.conf")
	if err := os.WriteFile(file, []byte(ini.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Exchange = "" // from the oslo config file
	cfg.Extra = map[string]any{"oslo_config_file": file, "transport_url": nil, "control_exchange": nil}
	return query, peer, cfg
}

// TestModernOptionsSideBySide runs an oslo.messaging 18.1.0 server (server
// "py") and wasmrpcd (server "wasm") on one topic with each modernSet, in
// both start orders: neither meets a PRECONDITION_FAILED; an 18.1.0
// client's calls to the topic are shared and its calls to each server
// reach it; `wasmrpcd call` reaches the Python server; a fanout cast, the
// Python client's or `wasmrpcd cast --fanout`, reaches both.
func TestModernOptionsSideBySide(t *testing.T) {
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		if peer.Name != oslopeer.V18 {
			t.Skipf("oslo.messaging %s has none of these options", peer.Name)
		}
		for _, set := range modernSets {
			for _, pythonFirst := range []bool{true, false} {
				order := map[bool]string{true: "python first", false: "wasmrpcd first"}[pythonFirst]
				t.Run(set.name+"/"+order, func(t *testing.T) {
					t.Parallel()
					n := newNames(t)
					ex := n.exchange()
					topic := n.topic("modern", "py", "wasm")
					query, peer, cfg := modernSetUp(t, peer, n, ex, topic, set.query, set.osloFile)
					pyOpts := pyServerOptions{Query: query, LogCalls: true}
					var py *pyServer
					var d *daemon
					if pythonFirst {
						py = startPyServer(t, peer, ex, topic, "py", pyOpts)
						d = startDaemon(t, cfg)
					} else {
						d = startDaemon(t, cfg)
						py = startPyServer(t, peer, ex, topic, "py", pyOpts)
					}
					t.Cleanup(func() { stopAll(func() { py.stop() }, d.stop) })
					client := startPeerClient(t, peer, n, ex, query)
					testSideBySide(t, client, topic, py, d)

					// A fanout cast reaches both servers, once each.
					marker := "fanout;"
					out := client.call(t, Request{Op: "cast", Fanout: true, Method: "fail", Topic: topic,
						Args: fmt.Sprintf(`{"kind": "ValueError", "message": %q}`, marker)})
					if err := out.check("ok null"); err != nil {
						t.Errorf("fanout cast: %v", err)
					}
					waitUntil(func() bool { return py.calls("fail", marker) >= 1 && d.failures(marker) >= 1 })
					if p, w := py.calls("fail", marker), d.failures(marker); p != 1 || w != 1 {
						t.Errorf("the fanout cast ran %d times on the Python server and %d on wasmrpcd, want once each", p, w)
					}

					// wasmrpcd's own client calls the Python server; its
					// reply queue expires soon after.
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					cli := exec.CommandContext(ctx, daemonBin, "call", "--url", rabbitURL(query+"&rabbit_transient_queues_ttl=5"), "--exchange", ex,
						"--topic", topic, "--server", "py", "echo", `{"value": "from wasmrpcd call"}`)
					if got, err := cli.CombinedOutput(); err != nil || string(got) != `"from wasmrpcd call"`+"\n" {
						t.Errorf("wasmrpcd call to the Python server: %v: %s", err, got)
					}
					// And casts to both.
					cast := exec.CommandContext(ctx, daemonBin, "cast", "--url", rabbitURL(query), "--exchange", ex,
						"--topic", topic, "--fanout", "fail", `{"kind": "ValueError", "message": "cli-fanout;"}`)
					if got, err := cast.CombinedOutput(); err != nil {
						t.Errorf("wasmrpcd cast --fanout: %v: %s", err, got)
					}
					waitUntil(func() bool { return py.calls("fail", "cli-fanout;") >= 1 && d.failures("cli-fanout;") >= 1 })
					if p, w := py.calls("fail", "cli-fanout;"), d.failures("cli-fanout;"); p != 1 || w != 1 {
						t.Errorf("wasmrpcd cast --fanout ran %d times on the Python server and %d on wasmrpcd, want once each", p, w)
					}

					for _, l := range append(py.stderr.snapshot(), d.log.snapshot()...) {
						if strings.Contains(l, "PRECONDITION_FAILED") {
							t.Errorf("a declaration was refused: %s", l)
						}
					}
				})
			}
		}
	})
}

// TestModernOptionsNotifications: with each modernSet on both sides, an
// 18.1.0 Notifier's notification reaches testkit's listener in wasmrpcd,
// and the notification the module emits for it reaches an 18.1.0
// listener.
func TestModernOptionsNotifications(t *testing.T) {
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		if peer.Name != oslopeer.V18 {
			t.Skipf("oslo.messaging %s has none of these options", peer.Name)
		}
		// One after the other: testkit emits to testkit_seen, whose queue
		// testkit_seen.info every set declares with its own arguments.
		for _, set := range modernSets {
			t.Run(set.name, func(t *testing.T) {
				n := newNames(t)
				c := &chain{n: n, exchange: n.prefix + "_x", seenPool: n.prefix + "_seen"}
				n.addExchange(c.exchange)
				n.addQueue(seenTopic + ".info")
				n.addQueue(c.seenPool)
				topic := c.topic("volumes")
				query, peer, cfg := modernSetUp(t, peer, n, c.exchange, n.topic("rpc", "wasm"), set.query, set.osloFile)
				c.seen = startPyListener(t, peer, c.exchange, seenTopic, pyListenerOptions{Pool: c.seenPool, Query: query})
				cfg.Modules[0].Extra = map[string]any{"notification_topics": []string{topic}}
				cfg.Tenant = map[string]any{"notification_topics": []string{seenTopic}}
				d := startDaemon(t, cfg)
				payload := `{"volume": "v1", "size": 10}`
				pyNotifyWith(t, peer, query, c.exchange, topic, pyNotification{
					Priority: "info", PublisherID: "volume.host1", EventType: "testkit.volume.created", Payload: payload})
				got := c.seen.wait("testkit.seen", func(m notification) bool { return m.EventType == "testkit.seen" })
				if got.PublisherID != "testkit" || !jsonEqual(got.Payload, []byte(payload)) {
					t.Errorf("the 18.1.0 listener got %v, want testkit.seen from testkit with payload %s", got, payload)
				}
				waitDrained(t, topic+".info")
				d.stop()
				for _, l := range d.log.snapshot() {
					if strings.Contains(l, "PRECONDITION_FAILED") || strings.Contains(l, "cannot be decompressed") {
						t.Errorf("daemon: %s", l)
					}
				}
			})
		}
	})
}
