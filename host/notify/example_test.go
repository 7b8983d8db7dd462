package notify_test

import (
	"context"
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// A notifier and a listener on the in-memory transport: the listener's
// filter lets volume events through, and the handler asks once for the
// notification again.
func Example() {
	ctx := context.Background()
	tr, _ := transport.NewMemory(transport.Options{})
	defer tr.Close()

	filter, err := notify.NewFilter(notify.Rules{EventType: `^volume\.`})
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	seen := 0
	d, err := notify.NewDispatcher(notify.Endpoint{
		Filter: filter,
		Handlers: map[notify.Priority]notify.Handler{
			notify.PriorityInfo: notify.HandlerFunc(func(ctx context.Context, m *notify.Message) (notify.Result, error) {
				var payload map[string]any
				_ = cborcodec.Unmarshal(m.Payload, &payload)
				seen++
				fmt.Println(seen, m.Priority, m.PublisherID, m.EventType, payload["size"])
				if seen == 1 {
					return notify.Requeue, nil
				}
				close(done)
				return notify.Handled, nil
			}),
		},
	})
	if err != nil {
		panic(err)
	}
	l := notify.NewListener(tr, []notify.Target{{Topic: "notifications"}}, d, notify.ListenerOptions{Executors: 1})
	if err := l.Start(ctx); err != nil {
		panic(err)
	}
	defer l.Shutdown(ctx)

	n, err := notify.NewNotifier(tr, "volumes.host1", notify.NotifierOptions{})
	if err != nil {
		panic(err)
	}
	payload, _ := cborcodec.Marshal(map[string]any{"size": 10})
	_ = n.Info(ctx, nil, "image.upload", payload) // filtered out
	_ = n.Info(ctx, nil, "volume.create.end", payload)
	<-done
	// Output:
	// 1 info volumes.host1 volume.create.end 10
	// 2 info volumes.host1 volume.create.end 10
}
