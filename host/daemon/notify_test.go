package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// TestNotificationChain: a notification into testkit's info endpoint makes
// the module emit testkit.seen through the host, which a listener gets.
func TestNotificationChain(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, `
tenants:
  default:
    notification_topics: [testkit_seen]
modules:
  - name: testkit
    path: tk.wasm
    notification_topics: [{{ex}}n]
`)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := transport.Open(ctx, amqpURL(), transport.Options{ControlExchange: r.exchange, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	pool := r.exchange + "_pool"
	t.Cleanup(func() { deleteQueues(t, pool, "testkit_seen.info", r.exchange+"n.info") })

	got := make(chan *notify.Message, 4)
	disp, err := notify.NewDispatcher(notify.Endpoint{Handlers: map[notify.Priority]notify.Handler{
		notify.PriorityInfo: notify.HandlerFunc(func(_ context.Context, m *notify.Message) (notify.Result, error) {
			got <- m
			return notify.Handled, nil
		}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	l := notify.NewListener(tr, []notify.Target{{Topic: "testkit_seen"}}, disp, notify.ListenerOptions{Pool: pool, Logger: quiet})
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(ctx)

	n, err := notify.NewNotifier(tr, "compute.host1", notify.NotifierOptions{Topics: []string{r.exchange + "n"}})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := cborcodec.Marshal(map[string]any{"volume": "v1", "size": 3})
	if err := n.Info(ctx, nil, "other.event", payload); err != nil { // not a testkit.* event: ignored
		t.Fatal(err)
	}
	if err := n.Info(ctx, nil, "testkit.volume.created", payload); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.EventType != "testkit.seen" || m.PublisherID != "testkit" || m.Priority != notify.PriorityInfo || string(m.Payload) != string(payload) {
			t.Fatalf("re-emitted notification: %+v", m)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no testkit.seen notification")
	}
	select {
	case m := <-got:
		t.Fatalf("a second notification came: %+v", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestHostNotifyRefusedOutsideTenant: a tenant that may not emit to
// testkit_seen makes the module's notify fail with a clear error, logged,
// and the daemon goes on.
func TestHostNotifyRefusedOutsideTenant(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, `
modules:
  - name: testkit
    path: tk.wasm
    topic: {{ex}}tk
    notification_topics: [{{ex}}n]
`)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := transport.Open(ctx, amqpURL(), transport.Options{ControlExchange: r.exchange, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	t.Cleanup(func() { deleteQueues(t, r.exchange+"n.info") })
	n, _ := notify.NewNotifier(tr, "compute.host1", notify.NotifierOptions{Topics: []string{r.exchange + "n"}})
	payload, _ := cborcodec.Marshal("p")
	if err := n.Info(ctx, nil, "testkit.x", payload); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refusal in the log", func() bool {
		return containsAll(r.log.String(), "PermissionError", "may not emit notifications to topic testkit_seen")
	})
	if got := r.mustCall(r.exchange+"tk", "1.5", "echo", map[string]any{"value": "still serving"}); got != "still serving" {
		t.Fatalf("echo = %v", got)
	}
}

func deleteQueues(t *testing.T, names ...string) {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	for _, q := range names {
		if ch, err := conn.Channel(); err == nil {
			ch.QueueDelete(q, false, false, false)
			ch.Close()
		}
	}
}
