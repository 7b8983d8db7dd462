package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// Hostile guests against the routing of their calls and the bounds on
// call chains (docs/RATIONALE.md, "Call chains"), on the daemon binary
// and the real broker. The Go client calls them, since oslo's Python
// client cannot send an argument named "method".

// goClient returns an RPC client of exchange ex on the broker, for
// target's topic, with timeout.
func goClient(t *testing.T, n *names, ex, topic string, timeout time.Duration) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := transport.Open(ctx, rabbitURL(""), transport.Options{ControlExchange: ex, ConnectionName: "wasmrpcd-e2e-tests", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	c := rpc.NewClient(tr, rpc.Target{Topic: topic}, rpc.WithTimeout(timeout))
	t.Cleanup(func() {
		n.addQueue(c.ReplyQueue())
		c.Close()
		tr.Close()
	})
	return c
}

// waitFor waits until cond holds, for two minutes at most, and reports
// whether it does.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// TestHostileTargets: a guest reaches only the routing keys its tenant's
// rpc_targets grant, whatever topic and server it names them by, and
// names that no target may have are refused.
func TestHostileTargets(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topicH, topicAny, topicEx := n.topic("hostile", "s1"), n.topic("anyhost", "s1"), n.topic("exhost", "s1")
	good := n.topic("good", "s1")
	adminTopic := good + ".admin" // a topic the tenant may not reach
	n.addQueue(adminTopic)
	n.addQueue(adminTopic + ".h")
	n.addExchange(adminTopic + "_fanout")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"a":   map[string]any{"call_timeout": "20s", "rpc_targets": []string{good}},
			"any": map[string]any{"call_timeout": "20s", "rpc_targets": []string{"*"}},
			"ex":  map[string]any{"call_timeout": "20s", "rpc_targets": []string{ex + "/*"}},
			"b":   map[string]any{},
		}},
		Modules: []moduleConfig{
			{Name: "hostile", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "a"}},
			{Name: "anyhost", Topic: topicAny, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "any"}},
			{Name: "exhost", Topic: topicEx, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "ex"}},
			{Name: "good", Topic: good, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
			// The queue good.admin.h: topic good.admin, server h.
			{Name: "admin", Topic: adminTopic, Server: "h", Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := goClient(t, n, ex, topicH, 60*time.Second)
	call := func(target map[string]any, marker string) map[string]any {
		return map[string]any{"target": target, "method": "fail", "args": map[string]any{"kind": "ValueError", "message": marker}}
	}
	tests := []struct {
		name   string
		module string // the hostile module's topic
		method string
		target map[string]any
		want   string // the exception class the guest got
		why    string // a part of its message
	}{
		{"allowed topic", topicH, "call", map[string]any{"topic": good}, "ValueError", "marker"},
		{"allowed topic and server", topicH, "call", map[string]any{"topic": adminTopic, "server": "h"}, "PermissionError", "routing key " + adminTopic + ".h"},
		{"server with a dot", topicH, "call", map[string]any{"topic": good, "server": "admin.h"}, "PermissionError", "routing key " + adminTopic + ".h"},
		{"cast, server with a dot", topicH, "cast", map[string]any{"topic": good, "server": "admin.h"}, "PermissionError", "routing key " + adminTopic + ".h"},
		{"topic of another tenant's", topicH, "call", map[string]any{"topic": adminTopic}, "PermissionError", "may not reach RPC target " + adminTopic},
		{"fanout of a longer topic", topicH, "cast", map[string]any{"topic": adminTopic, "fanout": true}, "PermissionError", "fanout exchange " + adminTopic + "_fanout"},
		{"wildcard server", topicH, "cast", map[string]any{"topic": good, "server": "#"}, "ValueError", "AMQP wildcard"},
		{"wildcard topic", topicH, "cast", map[string]any{"topic": good + ".*"}, "ValueError", "AMQP wildcard"},
		{"empty part", topicH, "cast", map[string]any{"topic": good, "server": ".h"}, "ValueError", "empty part between dots"},
		{"control character", topicH, "cast", map[string]any{"topic": good, "server": "h\r\nx"}, "ValueError", "contains"},
		{"space in the exchange", topicH, "cast", map[string]any{"exchange": "a b", "topic": good}, "ValueError", "contains"},
		{"absurd length", topicH, "cast", map[string]any{"topic": good, "server": strings.Repeat("h", 300)}, "ValueError", "more than 255"},
		{"the broker's default exchange", topicAny, "cast", map[string]any{"exchange": "amq.default", "topic": adminTopic}, "PermissionError", "exchange amq.default"},
		{"any target, server with dots", topicAny, "call", map[string]any{"topic": adminTopic, "server": "h"}, "ValueError", "marker"},
		// good_fanout is topic good's on every exchange, not only ex's.
		{"any topic of one exchange, fanout", topicEx, "cast", map[string]any{"topic": good, "fanout": true}, "PermissionError", "fanout exchange " + good + "_fanout"},
		{"any topic of one exchange", topicEx, "call", map[string]any{"topic": good}, "ValueError", "marker"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("%s marker <%d>", n.prefix, i)
			_, err := c.Prepare(rpc.WithTopic(tc.module)).Call(ctx, tc.method, call(tc.target, marker))
			var re *rpc.RemoteError
			if !errors.As(err, &re) {
				if tc.method == "cast" && err == nil && tc.want == "" {
					return
				}
				t.Fatalf("call: %v, want %s", err, tc.want)
			}
			if re.Class != tc.want || !strings.Contains(re.Message, tc.why) {
				t.Errorf("%s: %s, want %s saying %q", re.Class, re.Message, tc.want, tc.why)
			}
		})
	}
	// Nothing refused reached a server: testkit's fail logs each run. The
	// log is read as the daemon writes it: wait for the runs that must be
	// there, then count them all.
	runs := func(i int) int {
		marker := fmt.Sprintf("%s marker <%d>", n.prefix, i)
		return len(d.records(func(r logRecord) bool {
			m := r.attr("module")
			return (m == "good" || m == "admin") && strings.Contains(r.attr("message"), marker)
		}))
	}
	want := func(i int) int { return map[bool]int{true: 1}[tests[i].why == "marker"] }
	waitFor(func() bool {
		for i := range tests {
			if runs(i) < want(i) {
				return false
			}
		}
		return true
	})
	for i, tc := range tests {
		if got := runs(i); got != want(i) {
			t.Errorf("%s: fail ran %d times, want %d", tc.name, got, want(i))
		}
	}
}

// chainTenant is a tenant whose guests may call their own topic.
func chainTenant(topic string, keys map[string]any) map[string]any {
	t := map[string]any{"call_timeout": "60s", "max_instances": 8, "rpc_targets": []string{topic}}
	for k, v := range keys {
		t[k] = v
	}
	return t
}

// served returns how many requests for method module has served.
func served(t *testing.T, d *daemon, module, method string) int {
	total := 0
	for k, v := range d.metrics(t) {
		if strings.HasPrefix(k, "wasmrpcd_rpc_requests_total{") && strings.Contains(k, `method="`+method+`"`) &&
			strings.Contains(k, `module="`+module+`"`) {
			total += int(v)
		}
	}
	return total
}

// recursionErrors returns how many requests of module ended in the
// host's RecursionError.
func recursionErrors(d *daemon, module string) int {
	return len(d.records(func(r logRecord) bool {
		return r.attr("module") == module && r.attr("class") == "RecursionError"
	}))
}

// TestHostileCallChains: a guest that calls itself, casts to itself, or
// casts to itself twice per request stops at its tenant's max_hops (and
// max_sends_per_request), with a RecursionError; one whose chain needs
// more slots than its tenant has ends within the original caller's
// timeout, since the wait for a slot counts against each request's time
// to live and each hop's timeout is what is left of its caller's.
func TestHostileCallChains(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topics := map[string]string{}
	for _, m := range []string{"recurse", "cast", "fork", "tight"} {
		topics[m] = n.topic("chain_"+m, "s1")
	}
	tenants := map[string]any{
		"recurse": chainTenant(topics["recurse"], map[string]any{"max_hops": 3}),
		"cast":    chainTenant(topics["cast"], map[string]any{"max_hops": 3}),
		"fork":    chainTenant(topics["fork"], map[string]any{"max_hops": 3, "max_sends_per_request": 2}),
		// Two slots, and hops enough that only the deadline ends it.
		"tight": chainTenant(topics["tight"], map[string]any{"max_instances": 2, "max_hops": 10000}),
	}
	var mods []moduleConfig
	for m, topic := range topics {
		mods = append(mods, moduleConfig{Name: "chain-" + m, Topic: topic, Files: []string{watModule(t, "chain")}, Extra: map[string]any{"tenant": m}})
	}
	d := startDaemon(t, daemonConfig{Exchange: ex, Server: "s1", Extra: map[string]any{"tenants": tenants}, Modules: mods})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	self := func(m, method string) map[string]any {
		return map[string]any{"target": map[string]any{"topic": topics[m]}, "method": method}
	}
	idle := func(module string) bool { return d.moduleStatus(t, module).InFlight == 0 }

	t.Run("call itself", func(t *testing.T) {
		c := goClient(t, n, ex, topics["recurse"], 2*time.Minute)
		_, err := c.Call(ctx, "recurse", self("recurse", "recurse"))
		var re *rpc.RemoteError
		if !errors.As(err, &re) || re.Class != "RecursionError" || !strings.Contains(re.Message, "hop 4") || !strings.Contains(re.Message, "max_hops") {
			t.Fatalf("call: %v; want the RecursionError of hop 4", err)
		}
		t.Logf("%s: %s", re.Class, re.Message)
		// Hops 0 to 3 ran, one after the other.
		if got := served(t, d, "chain-recurse", "recurse"); got != 4 {
			t.Errorf("served %d requests, want 4 (hops 0 to 3)", got)
		}
	})

	t.Run("cast to itself", func(t *testing.T) {
		c := goClient(t, n, ex, topics["cast"], 2*time.Minute)
		if err := c.Cast(ctx, "cast_self", self("cast", "cast_self")); err != nil {
			t.Fatal(err)
		}
		// Hop 3 is refused its cast: wait for that, then for the module to
		// be idle; no more comes.
		if !waitFor(func() bool { return recursionErrors(d, "chain-cast") >= 1 && idle("chain-cast") }) {
			t.Fatalf("no RecursionError, or still busy: %d errors, %d served", recursionErrors(d, "chain-cast"), served(t, d, "chain-cast", "cast_self"))
		}
		if got, errs := served(t, d, "chain-cast", "cast_self"), recursionErrors(d, "chain-cast"); got != 4 || errs != 1 {
			t.Errorf("served %d casts with %d RecursionErrors, want 4 (hops 0 to 3) and 1", got, errs)
		}
	})

	t.Run("fork", func(t *testing.T) {
		c := goClient(t, n, ex, topics["fork"], 2*time.Minute)
		if err := c.Cast(ctx, "fork", self("fork", "fork")); err != nil {
			t.Fatal(err)
		}
		// Each request casts three times and max_sends_per_request lets
		// two through: 1, 2, 4 and 8 requests at hops 0 to 3. Each one's
		// third cast is refused (the guest returns that refusal): by
		// max_sends_per_request at hops 0 to 2, by max_hops at hop 3.
		const want = 1 + 2 + 4 + 8
		if !waitFor(func() bool {
			return served(t, d, "chain-fork", "fork") >= want && recursionErrors(d, "chain-fork") >= want && idle("chain-fork")
		}) {
			t.Fatalf("served %d, %d RecursionErrors; want %d of each", served(t, d, "chain-fork", "fork"), recursionErrors(d, "chain-fork"), want)
		}
		saying := func(s string) int {
			return len(d.records(func(r logRecord) bool {
				return r.attr("module") == "chain-fork" && r.attr("class") == "RecursionError" && strings.Contains(r.attr("message"), s)
			}))
		}
		if got, errs := served(t, d, "chain-fork", "fork"), recursionErrors(d, "chain-fork"); got != want || errs != want {
			t.Errorf("served %d casts with %d RecursionErrors, want %d of each", got, errs, want)
		}
		if sends, hops := saying("max_sends_per_request"), saying("max_hops"); sends != 7 || hops != 8 {
			t.Errorf("%d refusals by max_sends_per_request and %d by max_hops, want 7 and 8", sends, hops)
		}
	})

	t.Run("more hops than slots", func(t *testing.T) {
		const timeout = 5 * time.Second
		c := goClient(t, n, ex, topics["tight"], timeout)
		start := time.Now()
		_, err := c.Call(ctx, "recurse", self("tight", "recurse"))
		if !errors.Is(err, rpc.ErrTimeout) {
			t.Fatalf("call: %v, want a timeout", err)
		}
		t.Logf("the caller timed out after %v: %v", time.Since(start).Round(time.Millisecond), err)
		// Hops 0 and 1 hold both slots, hop 2 waits for one until its time
		// to live (what was left of the caller's) ends. Without that bound
		// each freed slot would start a hop with a fresh deadline, and the
		// module would never be idle.
		if !waitFor(func() bool { return idle("chain-tight") }) {
			t.Fatalf("the chain goes on: %d in flight, %d served", d.moduleStatus(t, "chain-tight").InFlight, served(t, d, "chain-tight", "recurse"))
		}
		expired := len(d.records(func(r logRecord) bool { return r.Msg == "rpc: request expired while it waited for a slot; dropped" }))
		t.Logf("ended after %v: %d requests served, %d expired waiting for a slot", time.Since(start).Round(time.Millisecond),
			served(t, d, "chain-tight", "recurse"), expired)
	})
}

// TestGuestCallDeadline: a guest's call cannot outlive the call it makes
// it from. The guest's tenant and the callee's allow a minute; the
// caller waits 3 s; the callee, asked to spin for 30 s, is stopped when
// what was left of the caller's 3 s runs out.
func TestGuestCallDeadline(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topicH, topicS := n.topic("caller", "s1"), n.topic("spinner", "s1")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"a": map[string]any{"call_timeout": "60s", "rpc_targets": []string{topicS}},
			"b": map[string]any{"call_timeout": "60s"},
		}},
		Modules: []moduleConfig{
			{Name: "caller", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "a"}},
			{Name: "spinner", Topic: topicS, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := goClient(t, n, ex, topicH, 3*time.Second)
	_, err := c.Call(ctx, "call", map[string]any{"target": map[string]any{"topic": topicS}, "method": "spin", "args": map[string]any{"ms": 30000}})
	if !errors.Is(err, rpc.ErrTimeout) {
		t.Fatalf("call: %v, want a timeout", err)
	}
	stopped := func(module string) bool {
		return len(d.records(func(r logRecord) bool {
			return r.attr("module") == module && r.Msg == "rpc: the caller's deadline passed; the call was stopped and gets no reply"
		})) > 0
	}
	if !waitFor(func() bool { return stopped("spinner") }) {
		t.Fatal("the spinner was not stopped at its caller's deadline")
	}
	if st := d.moduleStatus(t, "spinner"); st.InFlight != 0 {
		t.Errorf("spinner still busy: %+v", st)
	}
}

// TestGuestCallsPythonPeer: the requests a guest sends carry the hop
// count (_wasmrpcd_hops), which Python oslo.messaging servers of every
// peer version serve as any request.
func TestGuestCallsPythonPeer(t *testing.T) {
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		n := newNames(t)
		ex := n.exchange()
		topicH, topicP := n.topic("guest", "s1"), n.topic("py", "p1")
		py := startPyServer(t, peer, ex, topicP, "p1", pyServerOptions{LogCalls: true})
		d := startDaemon(t, daemonConfig{
			Exchange: ex, Server: "s1",
			Extra: map[string]any{"tenants": map[string]any{
				"a": map[string]any{"call_timeout": "60s", "rpc_targets": []string{topicP}},
			}},
			Modules: []moduleConfig{{Name: "guest", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "a"}}},
		})
		t.Cleanup(func() { stopAll(func() { py.stop() }, d.stop) })
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c := goClient(t, n, ex, topicH, 60*time.Second)
		marker := n.prefix + " via a guest"
		for _, target := range []map[string]any{{"topic": topicP}, {"topic": topicP, "server": "p1"}} {
			res, err := c.Call(ctx, "call", map[string]any{"target": target, "method": "echo", "args": map[string]any{"value": marker}})
			if err != nil {
				t.Fatalf("call %v: %v", target, err)
			}
			var got string
			if err := res.Decode(&got); err != nil || got != marker {
				t.Errorf("call %v: %q (%v), want %q", target, got, err, marker)
			}
		}
		if _, err := c.Call(ctx, "cast", map[string]any{"target": map[string]any{"topic": topicP}, "method": "echo", "args": map[string]any{"value": marker}}); err != nil {
			t.Fatalf("cast: %v", err)
		}
		if !waitFor(func() bool { return py.calls("echo", marker) >= 3 }) {
			t.Errorf("the Python server served %d of the 3 echoes", py.calls("echo", marker))
		}
	})
}

// TestHostileNotificationLoop: a notification handler that notifies the
// topic it listens to stops at its tenant's max_hops. chain.wat's handler
// emits to the topic wasmrpcd_e2e_chain_loop (the module cannot be told
// another); the test's exchange and pool keep it apart from other runs.
func TestHostileNotificationLoop(t *testing.T) {
	const topic = "wasmrpcd_e2e_chain_loop"
	n := newNames(t)
	ex := n.exchange()
	copies := topic + ".info" // the queue each notifier declares: one copy of each notification
	pool := n.prefix + "_loop"
	n.addQueue(copies)
	n.addQueue(pool)
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"loop": map[string]any{"call_timeout": "60s", "max_hops": 3, "notification_topics": []string{topic}},
		}},
		Modules: []moduleConfig{{Name: "chain-notes", Topic: n.topic("chain_notes", "s1"), Files: []string{watModule(t, "chain")},
			Extra: map[string]any{"tenant": "loop", "notification_topics": []string{topic}, "notification_pool": pool}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tr, err := transport.Open(ctx, rabbitURL(""), transport.Options{ControlExchange: ex, ConnectionName: "wasmrpcd-e2e-tests", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	defer tr.Close()
	notifier, err := notify.NewNotifier(tr, "e2e", notify.NotifierOptions{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if err := notifier.Info(ctx, nil, "chain.start", []byte{0xf6}); err != nil {
		t.Fatal(err)
	}
	refused := func() int {
		return len(d.records(func(r logRecord) bool {
			return strings.HasPrefix(r.Msg, "notify: handler failed") && strings.Contains(r.attr("err"), "RecursionError") &&
				strings.Contains(r.attr("err"), "max_hops")
		}))
	}
	ch, err := dialT(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	emitted := func() int {
		q, err := ch.QueueDeclarePassive(copies, false, false, false, false, nil)
		if err != nil {
			t.Fatalf("queue %s: %v", copies, err)
		}
		return q.Messages
	}
	// The test's notification is hop 0; the handlers at hops 0 to 2 emit
	// hops 1 to 3; the one at hop 3 is refused.
	if !waitFor(func() bool { return refused() >= 1 && emitted() >= 4 }) {
		t.Fatalf("%d refusals, %d notifications; want 1 and 4", refused(), emitted())
	}
	if r, e := refused(), emitted(); r != 1 || e != 4 {
		t.Errorf("%d refusals, %d notifications; want 1 and 4", r, e)
	}
}
