package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// The default budgets of a tenant (host/budget), which the test daemon
// leaves as they are.
const (
	logRate  = budget.DefaultLogRate
	logBurst = budget.DefaultLogBurst
	// floodTimeout is the call_timeout of the flooding tenant: no call
	// runs longer, so none writes more than logBurst + logRate ×
	// floodTimeout bytes of log.
	floodTimeout = 10 * time.Second
	// floodLines and floodLine are what flood.wat's log_flood and
	// stdout_flood write: 20,000 lines of 8,191 bytes (157 MiB).
	floodLines, floodLine = 20000, 8191
)

// TestHostileBudgets runs flood.wat under a tenant with the default
// budgets on the daemon binary and the broker: a call that logs 157 MiB
// through the log import, then one that writes as much to stdout, each
// leave at most a burst and the rate of a call's time in the daemon's
// log, the rest counted dropped in /metrics and reported in one line; a
// call that notifies in a loop gets RateLimitExceeded after the
// notification burst, and the broker holds at most burst + rate × call
// time of them, and a tenant that sends large payloads is held to its
// bytes; an oversized payload is refused with a ValueError. A
// module of another tenant logs all its lines meanwhile.
func TestHostileBudgets(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("flood", "s1")
	goodTopic := n.topic("good", "s1")
	quietTopic, cappedTopic, bulkTopic := n.topic("quiet", "s1"), n.topic("capped", "s1"), n.topic("bulk", "s1")
	notes := n.prefix + "_notes"
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"hostile": map[string]any{"memory_limit": "16MiB", "call_timeout": floodTimeout.String(), "max_instances": 2,
				"notification_topics": []string{notes}},
			// bulk's notifications are counted only in bytes.
			"bulk": map[string]any{"memory_limit": "16MiB", "call_timeout": floodTimeout.String(), "notification_rate": 0,
				"publish_rate": "1MiB", "publish_burst": "4MiB", "notification_topics": []string{notes}},
			"quiet":  map[string]any{"guest_log_level": "warn"},
			"capped": map[string]any{"guest_log_max_level": "warn", "log_burst": "64KiB"},
		}},
		Modules: []moduleConfig{
			{Name: "flood", Topic: topic, Files: []string{watModule(t, "flood")}, Extra: map[string]any{"tenant": "hostile"}},
			{Name: "good", Topic: goodTopic, Files: []string{watModule(t, "flood")}},
			{Name: "bulk", Topic: bulkTopic, Files: []string{watModule(t, "flood")}, Extra: map[string]any{"tenant": "bulk"}},
			{Name: "quiet", Topic: quietTopic, Files: []string{watModule(t, "flood")}, Extra: map[string]any{"tenant": "quiet"}},
			{Name: "capped", Topic: cappedTopic, Files: []string{watModule(t, "flood")}, Extra: map[string]any{"tenant": "capped"}},
		},
	})
	c := startClient(t, n, ex, "")

	// A queue of the notifications the guest emits (topic notes, priority
	// info), on the control exchange the daemon declared.
	conn := dialT(t)
	channel := func() *amqp.Channel {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ch.Close() })
		return ch
	}
	ch := channel()
	noteQ := notes + ".info"
	n.addQueue(noteQ)
	if _, err := ch.QueueDeclare(noteQ, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(noteQ, noteQ, ex, false, nil); err != nil {
		t.Fatal(err)
	}

	metric := func(name, labels string) float64 { return d.metrics(t)[name+"{"+labels+"}"] }
	for _, stream := range []string{"log", "stdout"} {
		t.Run(stream+"_flood", func(t *testing.T) {
			dropped := fmt.Sprintf(`reason="rate",stream=%q,tenant="hostile"`, stream)
			droppedBefore := metric("wasmrpcd_guest_log_dropped_bytes_total", dropped)
			from := d.logLen()
			out := c.call(t, Request{Topic: topic, Method: stream + "_flood", Timeout: 60})
			if err := out.check(fmt.Sprintf("ok %d", floodLines)); err != nil {
				t.Fatal(err)
			}
			// The report follows the call's lines in the log: once it is
			// read, they all are.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			report, err := d.waitLog(ctx, from, func(r logRecord) bool {
				return r.Msg == "guest budget exceeded" && r.attr("tenant") == "hostile"
			})
			if err != nil {
				t.Fatalf("no budget report: %v", err)
			}
			lines := d.log.snapshot()[from:]
			var written, writtenLines, logBytes int
			for _, l := range lines {
				logBytes += len(l) + 1
				if r, ok := parseRecord(l); ok && r.attr("module") == "flood" && r.attr("stream") == stream {
					written += len(r.Msg)
					writtenLines++
				}
			}
			droppedBytes := metric("wasmrpcd_guest_log_dropped_bytes_total", dropped) - droppedBefore
			t.Logf("one %s_flood call of %d lines of %d bytes: %d lines (%d bytes of guest text) written, %d bytes dropped; "+
				"the daemon's log grew %d bytes in %d lines until the report; report: %v",
				stream, floodLines, floodLine, writtenLines, written, int(droppedBytes), logBytes, len(lines), report.Attrs)
			if bound := logBurst + logRate*int(floodTimeout/time.Second); written > bound {
				t.Errorf("%d bytes of guest lines written, over the bound of %d", written, bound)
			}
			if writtenLines == 0 || writtenLines >= floodLines {
				t.Errorf("%d lines written; want some, and far fewer than %d", writtenLines, floodLines)
			}
			if total := written + int(droppedBytes); total != floodLines*floodLine {
				t.Errorf("written %d + dropped %d = %d bytes, want the %d the guest wrote", written, int(droppedBytes), total, floodLines*floodLine)
			}
			// The per-line drops were never logged one by one.
			if len(lines) > writtenLines+20 {
				t.Errorf("%d log lines for %d guest lines written", len(lines), writtenLines)
			}
		})
	}

	inspect := func() int {
		q, err := channel().QueueDeclarePassive(noteQ, false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return q.Messages
	}
	notification := func(payload string) string {
		b, _ := json.Marshal(map[string]any{"topic": notes, "priority": "info", "publisher_id": "flood", "event_type": "flood.x", "payload": payload})
		return string(b)
	}
	t.Run("notify_flood", func(t *testing.T) {
		out := c.call(t, Request{Topic: topic, Method: "notify_flood", Args: notification("x"), Timeout: 60})
		if err := out.check("remote " + budget.ErrorClass); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Error.Message, "tenant hostile has emitted more notifications than its budget of 100 a second (burst 200)") {
			t.Errorf("message %q", out.Error.Message)
		}
		got := inspect()
		t.Logf("one notify_flood call: %d notifications published, then %v", got, out)
		if bound := budget.DefaultNotificationBurst + budget.DefaultNotificationRate*int(floodTimeout/time.Second); got < budget.DefaultNotificationBurst || got > bound {
			t.Errorf("%d notifications published; want from the burst %d to %d", got, budget.DefaultNotificationBurst, bound)
		}
		if v := metric("wasmrpcd_guest_host_calls_refused_total", `reason="notification_rate",tenant="hostile"`); v != 1 {
			t.Errorf("%v refusals counted, want 1", v)
		}
	})
	t.Run("oversized_payload", func(t *testing.T) {
		before := inspect()
		out := c.call(t, Request{Topic: topic, Method: "notify_flood", Args: notification(strings.Repeat("x", budget.DefaultMaxNotificationSize)), Timeout: 60})
		if err := out.check("error ValueError"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Error.Message, "exceeds tenant hostile's max_notification_size of 262144 bytes") {
			t.Errorf("message %q", out.Error.Message)
		}
		if after := inspect(); after != before {
			t.Errorf("%d notifications published", after-before)
		}
		if v := metric("wasmrpcd_guest_host_calls_refused_total", `reason="notification_size",tenant="hostile"`); v != 1 {
			t.Errorf("%v refusals counted, want 1", v)
		}
	})
	// 200 KiB notifications in a loop, under a tenant that counts them only
	// in bytes: what reaches the broker is at most the publish burst and
	// the rate of the call's time.
	t.Run("publish_flood", func(t *testing.T) {
		const payload = 200 << 10
		before := inspect()
		out := c.call(t, Request{Topic: bulkTopic, Method: "notify_flood", Args: notification(strings.Repeat("x", payload)), Timeout: 60})
		if err := out.check("remote " + budget.ErrorClass); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Error.Message, "tenant bulk has sent the broker more than its budget of 1048576 bytes a second (burst 4194304)") {
			t.Errorf("message %q", out.Error.Message)
		}
		got := inspect() - before
		bytes := got * payload
		t.Logf("one notify_flood call of %d-byte payloads: %d notifications published (%d bytes), then %v", payload, got, bytes, out)
		if burst, bound := 4<<20, 4<<20+(1<<20)*int(floodTimeout/time.Second); bytes < burst-payload || bytes > bound {
			t.Errorf("%d bytes of payload published; want from the burst %d to %d", bytes, burst, bound)
		}
		if v := metric("wasmrpcd_guest_host_calls_refused_total", `reason="publish_rate",tenant="bulk"`); v != 1 {
			t.Errorf("%v refusals counted, want 1", v)
		}
	})
	t.Run("other_tenant", func(t *testing.T) {
		from := d.logLen()
		if err := c.call(t, Request{Topic: goodTopic, Method: "log_small", Timeout: 60}).check("ok null"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		count := 0
		if _, err := d.waitLog(ctx, from, func(r logRecord) bool {
			if r.attr("module") == "good" && r.attr("stream") == "log" {
				count++
			}
			return count == 1000
		}); err != nil {
			t.Fatalf("%d of the other tenant's 1000 lines logged: %v", count, err)
		}
	})
	// A tenant's levels and burst: quiet keeps no info line (each
	// counted), capped writes its error lines at warn, as many as 64 KiB
	// hold.
	t.Run("levels", func(t *testing.T) {
		if err := c.call(t, Request{Topic: quietTopic, Method: "log_small", Timeout: 60}).check("ok null"); err != nil {
			t.Fatal(err)
		}
		from := d.logLen()
		if err := c.call(t, Request{Topic: cappedTopic, Method: "log_flood", Timeout: 60}).check(fmt.Sprintf("ok %d", floodLines)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.waitLog(ctx, from, func(r logRecord) bool {
			return r.Msg == "guest budget exceeded" && r.attr("tenant") == "capped"
		}); err != nil {
			t.Fatalf("no budget report: %v", err)
		}
		levels := map[string]int{}
		for _, r := range d.records(func(r logRecord) bool { return r.attr("stream") == "log" }) {
			switch r.attr("module") {
			case "quiet":
				levels["quiet "+r.Level]++
			case "capped":
				levels["capped "+r.Level]++
			}
		}
		if want := map[string]int{"capped WARN": 64 << 10 / floodLine}; !maps.Equal(levels, want) {
			t.Errorf("guest lines by module and level %v, want %v", levels, want)
		}
		if v := metric("wasmrpcd_guest_log_dropped_lines_total", `reason="level",stream="log",tenant="quiet"`); v != 1000 {
			t.Errorf("%v lines of quiet counted dropped for their level, want 1000", v)
		}
	})
}
