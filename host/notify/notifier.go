package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// Driver is how a [Notifier] sends, oslo.messaging's notification driver.
type Driver string

// The drivers a Notifier knows.
const (
	// DriverMessagingV2 sends in the 2.0 envelope (oslo's "messagingv2"),
	// which every oslo.messaging listener reads.
	DriverMessagingV2 Driver = "messagingv2"
	// DriverMessaging sends the legacy un-enveloped 1.0 format (oslo's
	// "messaging"), for consumers that predate the envelope.
	DriverMessaging Driver = "messaging"
	// DriverNoop sends nothing.
	DriverNoop Driver = "noop"
)

// DefaultTopic is the notification topic of oslo.messaging's
// [oslo_messaging_notifications] topics option.
const DefaultTopic = "notifications"

// NotifierOptions tune a [Notifier]. The zero value sends messagingv2
// notifications on the topic "notifications".
type NotifierOptions struct {
	// Topics are the notification topics (oslo's topics option); each
	// notification goes to every one. Empty means [DefaultTopic].
	Topics []string
	// Driver is the notification driver; "" means [DriverMessagingV2].
	// (oslo's own default is no driver at all, which sends nothing.)
	Driver Driver
	// FullContext sends the request context whole. By default only the
	// [SafeContextKeys] go out, as oslo's Notifier sanitises a context.
	FullContext bool
	// Timeout bounds each notification when the caller's context has no
	// deadline: the transport keeps retrying a publish across reconnects
	// until then, which is what oslo's retry option bounds. 0 means no
	// bound (oslo's retry=-1, its default).
	Timeout time.Duration
	// Now returns the time a notification is stamped with; nil means
	// time.Now.
	Now func() time.Time
}

// Notifier sends notifications, as oslo.messaging's Notifier does: each
// one goes to every topic, with routing key topic.priority on the
// transport's control exchange, stamped with a fresh message_id and the
// time. It is safe for concurrent use.
type Notifier struct {
	transport   transport.Transport
	publisherID string
	opts        NotifierOptions
	hops        int // oslo.Notification.Hops of what is sent
}

// NewNotifier returns a notifier publishing as publisherID through t. It
// fails on an unknown driver or an empty topic.
func NewNotifier(t transport.Transport, publisherID string, opts NotifierOptions) (*Notifier, error) {
	switch opts.Driver {
	case "":
		opts.Driver = DriverMessagingV2
	case DriverMessagingV2, DriverMessaging, DriverNoop:
	default:
		return nil, fmt.Errorf("notify: unknown driver %q (want messagingv2, messaging or noop)", opts.Driver)
	}
	if len(opts.Topics) == 0 {
		opts.Topics = []string{DefaultTopic}
	} else {
		opts.Topics = append([]string(nil), opts.Topics...)
	}
	for _, topic := range opts.Topics {
		if topic == "" {
			return nil, errors.New("notify: empty notification topic")
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Notifier{transport: t, publisherID: publisherID, opts: opts}, nil
}

// Prepare returns a notifier that shares n's transport and options and
// publishes as publisherID, as oslo's Notifier.prepare does.
func (n *Notifier) Prepare(publisherID string) *Notifier {
	c := *n
	c.publisherID = publisherID
	return &c
}

// WithHops returns a copy of n whose notifications carry the hop count
// hops (oslo.Notification.Hops), as rpc.WithHops does for requests; 0
// sends none.
func (n *Notifier) WithHops(hops int) *Notifier {
	c := *n
	c.hops = max(hops, 0)
	return &c
}

// PublisherID returns the publisher_id n sends.
func (n *Notifier) PublisherID() string { return n.publisherID }

// Topics returns the topics n sends to.
func (n *Notifier) Topics() []string { return append([]string(nil), n.opts.Topics...) }

// Enabled reports whether n sends anything: false for [DriverNoop].
func (n *Notifier) Enabled() bool { return n.opts.Driver != DriverNoop }

// Notify sends a notification of priority with the request context
// reqCtx (a CBOR map, or empty) and the CBOR payload (empty means null)
// to every topic. It tries every topic and returns their failures joined;
// oslo's Notifier logs such failures instead.
func (n *Notifier) Notify(ctx context.Context, priority Priority, reqCtx []byte, eventType string, payload []byte) error {
	if !priority.Valid() {
		return fmt.Errorf("notify: unknown priority %q", priority)
	}
	if !n.Enabled() {
		return nil
	}
	if !n.opts.FullContext {
		var err error
		if reqCtx, err = SanitizeContext(reqCtx); err != nil {
			return err
		}
	}
	msg := oslo.Notification{
		MessageID:   oslo.NewMessageID(),
		PublisherID: n.publisherID,
		EventType:   eventType,
		Priority:    priority.wire(),
		Payload:     payload,
		Timestamp:   oslo.FormatTimestamp(n.opts.Now()),
		Context:     reqCtx,
		Legacy:      n.opts.Driver == DriverMessaging,
		Hops:        n.hops,
	}
	if _, ok := ctx.Deadline(); !ok && n.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.Timeout)
		defer cancel()
	}
	var (
		errs []error
		body []byte
	)
	for _, topic := range n.opts.Topics {
		// Like oslo's amqp driver, every topic's message gets its own
		// _unique_id; the message_id and timestamp are shared.
		msg.UniqueID = oslo.NewID()
		var err error
		if body, err = oslo.EncodeNotification(body[:0], &msg); err != nil {
			return fmt.Errorf("notify: %s %s: %w", priority, eventType, err)
		}
		target := transport.NotifyTarget{Topic: topic, Priority: string(priority)}
		if err := n.transport.Notify(ctx, target, body); err != nil {
			errs = append(errs, fmt.Errorf("notify: %s %s to %s: %w", priority, eventType, target.RoutingKey(), err))
		}
	}
	return errors.Join(errs...)
}

// Audit sends an audit notification (see [Notifier.Notify]).
func (n *Notifier) Audit(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityAudit, reqCtx, eventType, payload)
}

// Debug sends a debug notification (see [Notifier.Notify]).
func (n *Notifier) Debug(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityDebug, reqCtx, eventType, payload)
}

// Info sends an info notification (see [Notifier.Notify]).
func (n *Notifier) Info(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityInfo, reqCtx, eventType, payload)
}

// Warn sends a warn notification (see [Notifier.Notify]).
func (n *Notifier) Warn(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityWarn, reqCtx, eventType, payload)
}

// Error sends an error notification (see [Notifier.Notify]).
func (n *Notifier) Error(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityError, reqCtx, eventType, payload)
}

// Critical sends a critical notification (see [Notifier.Notify]).
func (n *Notifier) Critical(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PriorityCritical, reqCtx, eventType, payload)
}

// Sample sends a sample notification (see [Notifier.Notify]).
func (n *Notifier) Sample(ctx context.Context, reqCtx []byte, eventType string, payload []byte) error {
	return n.Notify(ctx, PrioritySample, reqCtx, eventType, payload)
}
