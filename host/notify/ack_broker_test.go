package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
)

// TestListenerAckFailsHandledOnce: a notification handled but whose
// acknowledgement fails (its channel went with the connection) is
// remembered as handled, as oslo's listener does, so that the copy the
// broker delivers again is acknowledged without a second call; nothing
// is left in the queue.
//
// The listener has one worker, so that the copy delivered again on the
// new connection waits until the first copy's handler has returned and
// its acknowledgement failed.
func TestListenerAckFailsHandledOnce(t *testing.T) {
	r := newRig(t)
	topic := r.topic()
	name := "wasmrpcd-notify-ackfail-test-" + randomID()
	tr := r.transportWith(transport.Options{ConnectionName: name, ReconnectDelay: -1})
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{}
	handler := HandlerFunc(func(_ context.Context, m *Message) (Result, error) {
		mu.Lock()
		calls[m.EventType]++
		first := m.EventType == "once" && calls["once"] == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
		}
		return Handled, nil
	})
	l := startListener(t, tr, topic, ListenerOptions{Executors: 1}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: handler}})
	n := newNotifier(t, r.transport(), "p", NotifierOptions{Topics: []string{topic}})
	ctx := context.Background()
	if err := n.Info(ctx, nil, "once", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(waitTime):
		t.Fatal("the notification never reached the handler")
	}
	if got := brokertest.CloseConnections(t, name+":listen"); got != 1 {
		t.Fatalf("closed %d connections named %s:listen, want 1", got, name)
	}
	// The copy delivered again on the new connection waits for the
	// worker: none ready in the queue, and a consumer.
	queue := topic + ".info"
	deadline := time.Now().Add(waitTime)
	for {
		if ready, consumers := r.queue(queue); ready == 0 && consumers == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notification was not delivered again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release) // the first copy's acknowledgement fails

	if err := n.Info(ctx, nil, "after", nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitTime); ; {
		mu.Lock()
		after := calls["after"]
		mu.Unlock()
		if after > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notification sent after the fault was not handled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["once"] != 1 || calls["after"] != 1 {
		t.Errorf("handled %v, want once each", calls)
	}
	if ready, _ := r.queue(queue); ready != 0 {
		t.Errorf("%d notifications left in %s: a copy was not acknowledged", ready, queue)
	}
}
