package notify

import (
	"context"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// Message is one notification as an endpoint sees it: what oslo's
// dispatcher passes to an endpoint method as ctxt, publisher_id,
// event_type, payload and metadata, plus the priority it was routed by.
// Values are CBOR (see docs/VALUES.md).
type Message struct {
	// Context is the CBOR map of the notifier's request context, as a
	// Python endpoint gets ctxt (with "client_timeout": null).
	Context []byte
	// PublisherID names the sender, such as "compute.host1".
	PublisherID string
	// EventType names the event, such as "compute.instance.create.end".
	EventType string
	// Priority is the message's priority, in lower case.
	Priority Priority
	// Payload is the CBOR of the payload (0xf6 for null).
	Payload []byte
	// Metadata holds the message ID and timestamp.
	Metadata Metadata
	// Hops is the notification's hop count (oslo.Notification.Hops): 0
	// unless a wasmrpcd guest emitted it.
	Hops int
}

// Metadata is the metadata argument of an oslo notification endpoint.
type Metadata struct {
	// MessageID is the notification's message_id, a UUID in its
	// 8-4-4-4-12 form.
	MessageID string `cbor:"message_id"`
	// Timestamp is when the notifier sent it, in UTC, as Python's
	// str(datetime) writes it: "2006-01-02 15:04:05.000123".
	Timestamp string `cbor:"timestamp"`
}

// Result is what a handler asks of the broker for a notification.
type Result int

const (
	// Handled acknowledges the notification (oslo's
	// NotificationResult.HANDLED, or None).
	Handled Result = iota
	// Requeue has the broker deliver the notification again (oslo's
	// NotificationResult.REQUEUE). A listener with
	// ListenerOptions.NoRequeue acknowledges it instead.
	Requeue
)

// String returns oslo's name of r: "handled" or "requeue".
func (r Result) String() string {
	if r == Requeue {
		return abi.NotifyRequeue
	}
	return abi.NotifyHandled
}

// Handler handles the notifications of one priority for an [Endpoint].
// An error is logged and the notification requeued, as oslo's dispatcher
// does with an exception from an endpoint method.
type Handler interface {
	HandleNotification(ctx context.Context, m *Message) (Result, error)
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, m *Message) (Result, error)

// HandleNotification calls f(ctx, m).
func (f HandlerFunc) HandleNotification(ctx context.Context, m *Message) (Result, error) {
	return f(ctx, m)
}

// BatchHandler handles batches of notifications of one priority for a
// [BatchEndpoint], as an oslo batch endpoint method receives a list of
// messages. [Requeue] or an error requeues the whole batch.
type BatchHandler interface {
	HandleNotifications(ctx context.Context, ms []*Message) (Result, error)
}

// BatchHandlerFunc adapts a function to [BatchHandler].
type BatchHandlerFunc func(ctx context.Context, ms []*Message) (Result, error)

// HandleNotifications calls f(ctx, ms).
func (f BatchHandlerFunc) HandleNotifications(ctx context.Context, ms []*Message) (Result, error) {
	return f(ctx, ms)
}

var (
	_ Handler      = HandlerFunc(nil)
	_ BatchHandler = BatchHandlerFunc(nil)
)

// handlerArgs is the arguments map of a wasm notification handler
// (abi/README.md, "Notification handlers").
type handlerArgs struct {
	PublisherID string          `cbor:"publisher_id"`
	EventType   string          `cbor:"event_type"`
	Payload     cbor.RawMessage `cbor:"payload"`
	Metadata    Metadata        `cbor:"metadata"`
}

// Args returns the CBOR map a wasm notification handler receives as its
// arguments (abi/README.md): {"publisher_id", "event_type", "payload",
// "metadata": {"message_id", "timestamp"}}. Its context is m.Context.
func (m *Message) Args() ([]byte, error) {
	b, err := cborcodec.Marshal(handlerArgs{
		PublisherID: m.PublisherID,
		EventType:   m.EventType,
		Payload:     m.Payload,
		Metadata:    m.Metadata,
	})
	if err != nil {
		return nil, fmt.Errorf("notify: handler arguments: %w", err)
	}
	return b, nil
}

// ResultOf reads the CBOR result value of a wasm notification handler:
// "requeue" is [Requeue]; null, absent (empty value), "handled" and
// anything else are [Handled], as oslo acknowledges a notification unless
// an endpoint returns REQUEUE. It fails only when value is not CBOR.
func ResultOf(value []byte) (Result, error) {
	if len(value) == 0 {
		return Handled, nil
	}
	var v any
	if err := decMode.Unmarshal(value, &v); err != nil {
		return Handled, fmt.Errorf("notify: handler result: %w", err)
	}
	if s, ok := v.(string); ok && s == abi.NotifyRequeue {
		return Requeue, nil
	}
	return Handled, nil
}
