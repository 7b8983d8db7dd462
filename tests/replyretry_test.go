package tests

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMissingReplyQueuesDoNotStall sends, by hand, more calls naming reply
// queues that do not exist than the module has workers, instances and
// tenant slots, then a good call. Each reply to a missing queue is
// retried for kombu_missing_consumer_retry_timeout; had a worker held each
// of those retries (as oslo's executor thread does), the good call would
// wait for several retry times. It must be answered within its own
// timeout, shorter than one retry time, and the retries must end, each
// counted as abandoned.
func TestMissingReplyQueuesDoNotStall(t *testing.T) {
	const (
		workers    = 2
		missing    = 4 * workers
		retryFor   = 40 // seconds: kombu_missing_consumer_retry_timeout
		goodWithin = 30 * time.Second
	)
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("replyq", "wasm")
	cfg := testkitConfig(ex, topic, "wasm")
	cfg.Rabbit = map[string]any{"kombu_missing_consumer_retry_timeout": retryFor}
	cfg.Tenant = map[string]any{"max_instances": workers}
	cfg.Extra = map[string]any{"executor_threads": workers}
	d := startDaemon(t, cfg)
	raw := newRawClient(t)
	ctx := context.Background()

	// A caller that has gone, or never was: its reply queue is a name
	// nobody declared.
	for i := range missing {
		msg := fmt.Sprintf(`{"method": "echo", "args": {"value": %d}, "_msg_id": %q, "_reply_q": %q, "_timeout": null, "_unique_id": %q}`,
			i, newID(), "reply_"+newID(), newID())
		if err := raw.publish(ctx, topic, envelope([]byte(msg)), ""); err != nil {
			t.Fatal(err)
		}
	}
	body, id := raw.call("echo", `{"value": "good"}`)
	sent := time.Now()
	if err := raw.publish(ctx, topic, body, ""); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, goodWithin)
	defer cancel()
	r, err := raw.wait(wctx, id)
	if err != nil {
		t.Fatalf("the good call after %d calls to missing reply queues: %v (the retries hold the workers)", missing, err)
	}
	if string(r.Result) != `"good"` || r.Failure != nil {
		t.Fatalf("the good call: %+v", r)
	}
	t.Logf("the good call was answered %v after it was sent, behind %d calls to missing reply queues", time.Since(sent).Round(time.Millisecond), missing)

	// The retries end: every one abandoned after the retry time, counted.
	abandoned := `wasmrpcd_rpc_reply_retries_total{module="testkit",outcome="abandoned",tenant="default"}`
	deadline := time.Now().Add(retryFor*time.Second + 2*time.Minute)
	for {
		m := d.metrics(t)
		if m[abandoned] == missing {
			break
		}
		if m[abandoned] > missing {
			t.Fatalf("%s = %v, want %d", abandoned, m[abandoned], missing)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after the retry time, want %d", abandoned, m[abandoned], missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if logged := len(d.records(func(r logRecord) bool {
		return r.Msg == "rpc: reply queue missing for the whole retry time; reply dropped"
	})); logged != missing {
		t.Fatalf("%d replies logged as abandoned, want %d", logged, missing)
	}
	// And the module serves on.
	body, id = raw.call("echo", `{"value": "after"}`)
	if err := raw.publish(ctx, topic, body, ""); err != nil {
		t.Fatal(err)
	}
	if r := raw.waitFor(t, id); string(r.Result) != `"after"` {
		t.Fatalf("the call after the retries: %+v", r)
	}
}
