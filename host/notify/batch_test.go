package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// batchSink collects the batches a batch handler gets, as event types.
type batchSink struct{ ch chan []string }

func newBatchSink() *batchSink { return &batchSink{ch: make(chan []string, 64)} }

func (s *batchSink) handler(answer func([]*Message) Result) BatchHandler {
	return BatchHandlerFunc(func(_ context.Context, ms []*Message) (Result, error) {
		evs := make([]string, len(ms))
		for i, m := range ms {
			evs[i] = string(m.Priority) + ":" + m.EventType
		}
		s.ch <- evs
		if answer == nil {
			return Handled, nil
		}
		return answer(ms), nil
	})
}

func (s *batchSink) next(t *testing.T) []string {
	t.Helper()
	select {
	case b := <-s.ch:
		return b
	case <-time.After(waitTime):
		t.Fatal("no batch reached the handler")
		return nil
	}
}

func startBatchListener(t *testing.T, tr transport.Transport, topic string, opts ListenerOptions, eps ...BatchEndpoint) *Listener {
	t.Helper()
	d, err := NewBatchDispatcher(eps...)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	l := NewBatchListener(tr, []Target{{Topic: topic}}, d, opts)
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return l
}

// notifyInfo sends info notifications with the given event types.
func notifyInfo(t *testing.T, n *Notifier, events ...string) {
	t.Helper()
	for _, ev := range events {
		if err := n.Info(context.Background(), nil, ev, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBatchListenerFillsBatches(t *testing.T) {
	broker := newBroker(t)
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"batch"}})
	// Queued before the listener starts, so the batches are known.
	notifyInfo(t, n, "0", "1", "2", "3", "4", "5", "6")
	s := newBatchSink()
	startBatchListener(t, broker, "batch", ListenerOptions{BatchSize: 3, Executors: 1},
		BatchEndpoint{Handlers: map[Priority]BatchHandler{PriorityInfo: s.handler(nil)}})
	for _, want := range []string{"info:0 info:1 info:2", "info:3 info:4 info:5"} {
		if got := strings.Join(s.next(t), " "); got != want {
			t.Fatalf("batch %q, want %q", got, want)
		}
	}
	// Without a batch timeout the last one waits for the batch to fill.
	notifyInfo(t, n, "7", "8")
	if got := strings.Join(s.next(t), " "); got != "info:6 info:7 info:8" {
		t.Fatalf("batch %q", got)
	}
}

func TestBatchListenerTimeout(t *testing.T) {
	broker := newBroker(t)
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"batch"}})
	notifyInfo(t, n, "0", "1", "2")
	s := newBatchSink()
	startBatchListener(t, broker, "batch", ListenerOptions{BatchSize: 100, BatchTimeout: time.Millisecond, Executors: 1},
		BatchEndpoint{Handlers: map[Priority]BatchHandler{PriorityInfo: s.handler(nil)}})
	if got := strings.Join(s.next(t), " "); got != "info:0 info:1 info:2" {
		t.Fatalf("batch %q", got)
	}
	notifyInfo(t, n, "3")
	if got := strings.Join(s.next(t), " "); got != "info:3" {
		t.Fatalf("batch %q", got)
	}
}

func TestBatchListenerRequeue(t *testing.T) {
	broker := newBroker(t)
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"batch"}})
	notifyInfo(t, n, "a", "b")
	if err := n.Error(context.Background(), nil, "c", nil); err != nil {
		t.Fatal(err)
	}
	infos, errs := newBatchSink(), newBatchSink()
	first := true
	l := startBatchListener(t, broker, "batch", ListenerOptions{BatchSize: 3, BatchTimeout: time.Millisecond, Executors: 1},
		BatchEndpoint{Handlers: map[Priority]BatchHandler{
			PriorityInfo: infos.handler(func([]*Message) Result {
				if first {
					first = false
					return Requeue
				}
				return Handled
			}),
			PriorityError: errs.handler(nil),
		}})
	got := infos.next(t)
	slices.Sort(got)
	if fmt.Sprint(got) != "[info:a info:b]" {
		t.Fatalf("first info batch %v", got)
	}
	if got := errs.next(t); fmt.Sprint(got) != "[error:c]" {
		t.Fatalf("error batch %v", got)
	}
	// Both infos come back; the error notification, handled, does not.
	var again []string
	for len(again) < 2 {
		again = append(again, infos.next(t)...)
	}
	slices.Sort(again)
	if fmt.Sprint(again) != "[info:a info:b]" {
		t.Fatalf("requeued %v", again)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(errs.ch) != 0 || len(infos.ch) != 0 {
		t.Fatal("more batches than expected")
	}
	for _, p := range []string{"info", "error"} {
		if empty, d := queueIsEmpty(t, broker, transport.NotifyTarget{Topic: "batch", Priority: p}, ""); !empty {
			t.Fatalf("queue batch.%s still holds %q", p, d.Body)
		}
	}
}
