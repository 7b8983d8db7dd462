package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// Interoperability with the real oslo.messaging, each reference peer of
// internal/oslopeer (Debian's 14.0.3, and 18.1.0): testdata/oslo_peer.py.

// interopSet is driver options both sides get through the URL query.
type interopSet struct {
	name, query string
	// query18 is query as 18.1.0 must be given it, where it differs.
	query18 string
	// only18 sets use options that 14.0.3 does not have.
	only18 bool
}

// pyQuery returns the set's query for peer.
func (s interopSet) pyQuery(peer oslopeer.Peer) string {
	if peer.Name == oslopeer.V18 && s.query18 != "" {
		return s.query18
	}
	return s.query
}

var interopSets = []interopSet{
	{name: "default"},
	// 17.0 removed the misspelled rabbit_quroum_max_memory_length of
	// 14.0.3 for rabbit_quorum_max_memory_length, with no alias, and 18.1.0
	// refuses an unknown option in the URL query (ConfigOptsProxy's
	// _validate_query): the same setting goes to it under its new name.
	{name: "durable quorum",
		query:   "amqp_durable_queues=true&rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5&rabbit_quroum_max_memory_length=100",
		query18: "amqp_durable_queues=true&rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5&rabbit_quorum_max_memory_length=100"},
	{name: "ha auto-delete ttl", query: "rabbit_ha_queues=true&amqp_auto_delete=true&rabbit_transient_queues_ttl=60"},

	// The options of 16 to 18, each alone (with what it needs), then all
	// at once as Kolla Ansible sets them. {host} is a host name of the
	// test's own, for the queue manager's names.
	{name: "transient quorum", only18: true, query: "rabbit_transient_quorum_queue=true"},
	{name: "stream fanout", only18: true, query: "rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=10"},
	{name: "queue manager", only18: true, query: "use_queue_manager=true&hostname={host}"},
	{name: "no ttl", only18: true, query: "rabbit_transient_queues_ttl=0"},
	{name: "gzip", only18: true, query: "kombu_compression=gzip"},
	{name: "kolla", only18: true, query: "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true" +
		"&rabbit_qos_prefetch_count=10&use_queue_manager=true&hostname={host}&kombu_compression=gzip"},
}

// setUp returns the set's query for the transport and for peer, for a test
// of its own, and the peer with what its options need: the queue manager
// takes an oslo.concurrency lock, in a folder of the test's. It skips the
// sets 14.0.3 cannot run, and deletes at the end the queues the queue
// manager named after the test's host name (they outlive their listeners).
func (s interopSet) setUp(t *testing.T, peer oslopeer.Peer) (goQuery, pyQuery string, _ oslopeer.Peer) {
	t.Helper()
	if s.only18 && peer.Name != oslopeer.V18 {
		t.Skipf("oslo.messaging %s has no such options: %s", peer.Name, s.query)
	}
	host := "wrthost" + uuidHex()[:8]
	goQuery = strings.ReplaceAll(s.query, "{host}", host)
	pyQuery = strings.ReplaceAll(s.pyQuery(peer), "{host}", host)
	if strings.Contains(s.query, "use_queue_manager") {
		peer.Env = append(slices.Clone(peer.Env), "OSLO_LOCK_PATH="+t.TempDir())
		u := brokerURL(t)
		t.Cleanup(func() {
			j := newJanitor(t, u)
			for _, line := range strings.Split(string(brokertest.Rabbitmqctl(t, "list_queues", "name", "--quiet", "--no-table-headers")), "\n") {
				if strings.Contains(line, host) {
					j.add([]string{strings.TrimSpace(line)}, nil)
				}
			}
			// 18.1.0's queue manager counts in a file of /dev/shm.
			files, _ := filepath.Glob("/dev/shm/" + host + "_*_qmanager")
			for _, f := range files {
				os.Remove(f)
			}
		})
	}
	return goQuery, pyQuery, peer
}

// interopURL returns the broker URL, as rabbit://, with query.
func interopURL(t *testing.T, query string) (string, *URL) {
	u := *brokerURL(t)
	u.Scheme = "rabbit"
	u.Query = parseQuery(query)
	return u.String(), &u
}

// peer is a running oslo_peer.py.
type peer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startPeer runs oslo_peer.py of op with args and waits for its READY
// line.
func startPeer(t *testing.T, op oslopeer.Peer, args ...string) *peer {
	t.Helper()
	if _, err := os.Stat(oslopeer.Python); err != nil {
		t.Fatalf("%s is missing (scripts/deps.sh installs python3-oslo.messaging): %v", oslopeer.Python, err)
	}
	cmd := op.Command("testdata/oslo_peer.py", args...)
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		<-done
		if err := cmd.Wait(); err != nil {
			t.Errorf("oslo_peer.py %s: %v", args[0], err)
		}
	})
	if line := p.line(t); line != "READY" {
		t.Fatalf("oslo_peer.py %s: %s", args[0], line)
	}
	return p
}

// line returns the peer's next output line.
func (p *peer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("oslo_peer.py ended early")
		}
		return l
	case <-time.After(waitTime):
		t.Fatal("oslo_peer.py said nothing")
	}
	return ""
}

// pyCall runs oslo_peer.py call of op and returns its output.
func pyCall(ctx context.Context, op oslopeer.Peer, args ...string) (string, error) {
	out, err := op.CommandContext(ctx, "testdata/oslo_peer.py", append([]string{"call"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// envelope wraps msg in oslo's 2.0 envelope (what host/oslo does for real).
func envelope(t *testing.T, msg map[string]any) []byte {
	inner, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": string(inner)})
	return b
}

// unwrap opens an oslo 2.0 envelope.
func unwrap(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil || env["oslo.version"] != "2.0" {
		t.Fatalf("not an oslo 2.0 envelope (%v): %s", err, body)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(env["oslo.message"]), &msg); err != nil {
		t.Fatalf("oslo.message: %v", err)
	}
	return msg
}

func TestInteropSideBySide(t *testing.T) {
	oslopeer.Run(t, testInteropSideBySide)
}

func testInteropSideBySide(t *testing.T, peer oslopeer.Peer) {
	for _, set := range interopSets {
		for _, pythonFirst := range []bool{true, false} {
			order := "go first"
			if pythonFirst {
				order = "python first"
			}
			t.Run(set.name+"/"+order, func(t *testing.T) {
				t.Parallel()
				goQuery, pyQuery, peer := set.setUp(t, peer)
				_, u := interopURL(t, goQuery)
				rawURL, _ := interopURL(t, pyQuery)
				id := uuidHex()[:10]
				ex, topic := "wrt_x_"+id, "wrt_t_"+id
				j := newJanitor(t, u)
				j.add([]string{topic, topic + ".py", topic + ".go", topic + "_fanout"}, []string{topic + "_fanout", ex})
				tr, err := DialAMQP(context.Background(), u, Options{Logger: testLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = tr.Close() })
				e := &env{t: t, impl: &amqpImpl{url: u, j: j}, tr: tr, exchange: ex}

				var srv Listener
				if pythonFirst {
					startPeer(t, peer, "server", rawURL, ex, topic, "py")
					srv = e.listenRPC(tr, Target{Exchange: ex, Topic: topic, Server: "go"})
				} else {
					srv = e.listenRPC(tr, Target{Exchange: ex, Topic: topic, Server: "go"})
					startPeer(t, peer, "server", rawURL, ex, topic, "py")
				}

				// wasmrpcd's transport calls the Python server.
				replies, rq := e.listenReplies(tr)
				msgID := uuidHex()
				req := envelope(t, map[string]any{
					"method": "echo", "args": map[string]any{"value": "from go"},
					"version": "1.0", "_msg_id": msgID, "_reply_q": rq,
					"_unique_id": uuidHex(), "_timeout": nil,
				})
				e.send(Target{Exchange: ex, Topic: topic, Server: "py"}, string(req), SendOptions{Expiration: time.Minute})
				for {
					d, err := replies.Next(e.ctx())
					if err != nil {
						t.Fatal(err)
					}
					ack(t, d)
					r := unwrap(t, d.Body)
					if r["_msg_id"] != msgID {
						t.Fatalf("reply for %v, want %s", r["_msg_id"], msgID)
					}
					if r["failure"] != nil {
						t.Fatalf("Python server failed: %v", r["failure"])
					}
					if r["ending"] == true {
						if r["result"] != "from go" {
							t.Fatalf("result %v", r["result"])
						}
						break
					}
				}

				// The Python client calls wasmrpcd's transport.
				ctx, cancel := context.WithTimeout(context.Background(), waitTime)
				defer cancel()
				type result struct {
					out string
					err error
				}
				done := make(chan result, 1)
				go func() {
					out, err := pyCall(ctx, peer, rawURL, ex, topic, "go", `{"n": 42}`)
					done <- result{out, err}
				}()
				d, err := srv.Next(e.ctx())
				if err != nil {
					t.Fatal(err)
				}
				ack(t, d)
				call := unwrap(t, d.Body)
				if call["method"] != "echo" || d.RoutingKey != topic+".go" {
					t.Fatalf("request %v on %q", call, d.RoutingKey)
				}
				if d.ContentType != ContentType || d.ContentEncoding != ContentEncoding {
					t.Errorf("Python request content type %q encoding %q", d.ContentType, d.ContentEncoding)
				}
				args, _ := call["args"].(map[string]any)
				reply := envelope(t, map[string]any{
					"result": args["value"], "failure": nil, "ending": true,
					"_msg_id": call["_msg_id"], "_unique_id": uuidHex(),
				})
				rq2, _ := call["_reply_q"].(string)
				j.add([]string{rq2}, nil)
				if err := tr.Reply(e.ctx(), rq2, reply); err != nil {
					t.Fatalf("Reply to the Python client: %v", err)
				}
				res := <-done
				if res.err != nil {
					t.Fatalf("oslo_peer.py call: %v: %s", res.err, res.out)
				}
				if !strings.HasPrefix(res.out, `{"n": 42}`) {
					t.Fatalf("Python client got %q", res.out)
				}
			})
		}
	}
}

var (
	fanoutUUID = regexp.MustCompile(`_fanout_[0-9a-f]{32}$`)
	// queueManagerName is the end of a queue manager's name.
	queueManagerName = regexp.MustCompile(`wrthost[0-9a-f]{8}:[^:]+:[0-9]+$`)
)

// listTopology lists, through rabbitmqctl, the queues, exchanges and
// bindings whose names hold one of the keys of a side's names, each as one
// line with the names replaced by their placeholders; one result by side.
func listTopology(t *testing.T, sides ...map[string]string) []map[string][]string {
	t.Helper()
	var queues []struct {
		Name       string          `json:"name"`
		Durable    bool            `json:"durable"`
		AutoDelete bool            `json:"auto_delete"`
		Arguments  json.RawMessage `json:"arguments"`
	}
	mustJSON(t, brokertest.Rabbitmqctl(t, "list_queues", "name", "durable", "auto_delete", "arguments", "--formatter", "json", "--quiet"), &queues)
	var exchanges []struct {
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Durable    bool            `json:"durable"`
		AutoDelete bool            `json:"auto_delete"`
		Arguments  json.RawMessage `json:"arguments"`
	}
	mustJSON(t, brokertest.Rabbitmqctl(t, "list_exchanges", "name", "type", "durable", "auto_delete", "arguments", "--formatter", "json", "--quiet"), &exchanges)
	var bindings []struct {
		Source    string          `json:"source_name"`
		Dest      string          `json:"destination_name"`
		Key       string          `json:"routing_key"`
		Arguments json.RawMessage `json:"arguments"`
	}
	mustJSON(t, brokertest.Rabbitmqctl(t, "list_bindings", "source_name", "destination_name", "routing_key", "arguments", "--formatter", "json", "--quiet"), &bindings)

	var results []map[string][]string
	for _, names := range sides {
		rename := func(s string) (string, bool) {
			hit := false
			keys := make([]string, 0, len(names))
			for k := range names {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
			for _, k := range keys {
				if strings.Contains(s, k) {
					s = strings.ReplaceAll(s, k, names[k])
					hit = true
				}
			}
			// Then the unique ends of fanout queues' names.
			s = fanoutUUID.ReplaceAllString(s, "_fanout_{uuid}")
			s = queueManagerName.ReplaceAllString(s, "{host}:{process}:{n}")
			return s, hit
		}
		args := func(raw json.RawMessage) string {
			var a [][]any
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.UseNumber()
			_ = dec.Decode(&a)
			parts := make([]string, 0, len(a))
			for _, kv := range a {
				parts = append(parts, fmt.Sprintf("%v=%v(%v)", kv[0], kv[2], kv[1]))
			}
			slices.Sort(parts)
			return "[" + strings.Join(parts, " ") + "]"
		}
		out := map[string][]string{}
		for _, q := range queues {
			if n, ok := rename(q.Name); ok {
				out["queues"] = append(out["queues"], fmt.Sprintf("| %s | %v | %v | %s |", n, q.Durable, q.AutoDelete, args(q.Arguments)))
			}
		}
		for _, x := range exchanges {
			if n, ok := rename(x.Name); ok {
				out["exchanges"] = append(out["exchanges"], fmt.Sprintf("| %s | %s | %v | %v | %s |", n, x.Type, x.Durable, x.AutoDelete, args(x.Arguments)))
			}
		}
		for _, b := range bindings {
			if b.Source == "" {
				continue // the default exchange's implicit bindings
			}
			src, ok1 := rename(b.Source)
			dst, ok2 := rename(b.Dest)
			key, _ := rename(b.Key)
			if ok1 || ok2 {
				out["bindings"] = append(out["bindings"], fmt.Sprintf("| %s | %s | %s | %s |", src, dst, key, args(b.Arguments)))
			}
		}
		for k := range out {
			slices.Sort(out[k])
		}
		results = append(results, out)
	}
	return results
}

// replyPlaceholder is what a reply queue's name is listed as.
func replyPlaceholder(name string) string {
	if queueManagerName.MatchString(name) {
		return "reply_{host}:{process}:{n}"
	}
	return "reply_{uuid}"
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("rabbitmqctl JSON: %v: %s", err, data)
	}
}

// TestTopologyMatchesPython declares with oslo.messaging and with the
// transport everything the rabbit driver declares, under each option set,
// and compares what the broker lists, field by field; with each reference
// peer. With -update it writes 14.0.3's table to
// testdata/topology.golden.md (docs/WIRE-TOPOLOGY.md shows it).
func TestTopologyMatchesPython(t *testing.T) {
	oslopeer.Run(t, testTopologyMatchesPython)
}

func testTopologyMatchesPython(t *testing.T, peer oslopeer.Peer) {
	docs := make([]string, len(interopSets))
	t.Run("sets", func(t *testing.T) {
		for i, set := range interopSets {
			t.Run(set.name, func(t *testing.T) {
				t.Parallel()
				docs[i] = topologyOf(t, peer, set)
			})
		}
	})
	if *update && !t.Failed() {
		golden := map[string]string{oslopeer.V14: "testdata/topology.golden.md", oslopeer.V18: "testdata/topology-18.1.0.golden.md"}[peer.Name]
		if err := os.WriteFile(golden, []byte(strings.Join(docs, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// topologyOf compares the topologies of one set and returns the Python
// side's as Markdown tables.
func topologyOf(t *testing.T, peer oslopeer.Peer, set interopSet) string {
	var doc strings.Builder
	goQuery, pyQuery, peer := set.setUp(t, peer)
	_, u := interopURL(t, goQuery)
	rawURL, _ := interopURL(t, pyQuery)
	j := newJanitor(t, u)
	side := func(who string) (ex, topic, pool string) {
		id := uuidHex()[:10]
		ex, topic, pool = "wrt_x_"+id, "wrt_t_"+id, "wrt_p_"+id
		j.add([]string{topic, topic + ".srv", topic + ".info", pool, topic + "_fanout"}, []string{topic + "_fanout", ex})
		return
	}
	pyEx, pyTopic, pyPool := side("python")
	p := startPeer(t, peer, "declare-all", rawURL, pyEx, pyTopic, "srv", pyPool)
	var info struct {
		ReplyQueue string `json:"reply_queue"`
	}
	if err := json.Unmarshal([]byte(p.line(t)), &info); err != nil {
		t.Fatal(err)
	}
	j.add([]string{info.ReplyQueue}, nil)

	goEx, goTopic, goPool := side("go")
	tr, err := DialAMQP(context.Background(), u, Options{ControlExchange: goEx, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	e := &env{t: t, impl: &amqpImpl{url: u, j: j}, tr: tr, exchange: goEx}
	e.listenRPC(tr, Target{Topic: goTopic, Server: "srv"})
	// Named by the transport, as the rpc client has it named.
	goReplies, err := tr.ListenReplies(e.ctx(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = goReplies.Close() })
	goReply := goReplies.Queues()[0]
	j.add([]string{goReply}, nil)
	target := NotifyTarget{Topic: goTopic, Priority: "info"}
	if err := tr.Notify(e.ctx(), target, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	e.listenNotify(tr, []NotifyTarget{target}, goPool)

	rows := listTopology(t,
		map[string]string{pyEx: "{exchange}", pyTopic: "{topic}", pyPool: "{pool}", info.ReplyQueue: replyPlaceholder(info.ReplyQueue)},
		map[string]string{goEx: "{exchange}", goTopic: "{topic}", goPool: "{pool}", goReply: replyPlaceholder(goReply)})
	pyRows, goRows := rows[0], rows[1]
	for _, kind := range []string{"exchanges", "queues", "bindings"} {
		if !slices.Equal(pyRows[kind], goRows[kind]) {
			t.Errorf("%s differ\noslo.messaging:\n%s\nwasmrpcd:\n%s", kind,
				strings.Join(pyRows[kind], "\n"), strings.Join(goRows[kind], "\n"))
		}
	}
	q := set.pyQuery(peer)
	if q == "" {
		q = "(none)"
	}
	fmt.Fprintf(&doc, "### %s\n\nURL query: `%s`\n\n", set.name, q)
	fmt.Fprintf(&doc, "| exchange | type | durable | auto_delete | arguments |\n|---|---|---|---|---|\n%s\n\n", strings.Join(pyRows["exchanges"], "\n"))
	fmt.Fprintf(&doc, "| queue | durable | auto_delete | arguments |\n|---|---|---|---|\n%s\n\n", strings.Join(pyRows["queues"], "\n"))
	fmt.Fprintf(&doc, "| binding: exchange | queue | routing key | arguments |\n|---|---|---|---|\n%s\n\n", strings.Join(pyRows["bindings"], "\n"))
	return doc.String()
}

// TestInteropMismatchFails shows that both sides notice a declaration
// that differs: the checks above would fail if the topology drifted.
func TestInteropMismatchFails(t *testing.T) {
	oslopeer.Run(t, testInteropMismatchFails)
}

func testInteropMismatchFails(t *testing.T, peer oslopeer.Peer) {
	rawURL, u := interopURL(t, "")
	id := uuidHex()[:10]
	ex, topic := "wrt_x_"+id, "wrt_t_"+id
	j := newJanitor(t, u)
	j.add([]string{topic, topic + ".py", topic + ".go"}, []string{topic + "_fanout", ex})

	// wasmrpcd declares durable queues, then a default Python server comes.
	durable, err := DialAMQP(context.Background(), u, Options{DurableQueues: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer durable.Close()
	e := &env{t: t, impl: &amqpImpl{url: u, j: j}, tr: durable, exchange: ex}
	e.listenRPC(durable, Target{Exchange: ex, Topic: topic, Server: "go"})
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	out, err := peer.CommandContext(ctx, "testdata/oslo_peer.py", "server", rawURL, ex, topic, "py").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "PRECONDITION_FAILED") {
		t.Fatalf("Python server over durable queues: %v\n%s", err, out)
	}
}
