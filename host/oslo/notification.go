package oslo

import (
	"fmt"
	"strings"
	"time"
)

// Notification is an oslo.messaging notification, as its Notifier builds
// it: {"message_id", "publisher_id", "event_type", "priority", "payload",
// "timestamp"} plus "_unique_id" and the context packed as "_context_*".
// The "messagingv2" driver wraps it in the 2.0 envelope; the legacy
// "messaging" driver sends it bare.
type Notification struct {
	// MessageID is str(uuid4()) ([NewMessageID]).
	MessageID string
	// PublisherID names the sender, such as "compute.host1".
	PublisherID string
	// EventType names the event, such as "compute.instance.create.end".
	EventType string
	// Priority is the priority as the Notifier writes it, upper case
	// ("INFO"); listeners compare it in lower case.
	Priority string
	// Payload is the CBOR of the payload; nil encodes as null.
	// DecodeNotification always sets it (0xf6 for null).
	Payload []byte
	// Timestamp is str(timeutils.utcnow()) ([FormatTimestamp]).
	Timestamp string
	// Context is the CBOR map of the context. From DecodeNotification it
	// is what a Python listener's endpoint receives as ctxt (with
	// "client_timeout": null); EncodeNotification packs it as it is.
	Context []byte
	// UniqueID identifies the message for duplicate detection.
	UniqueID string
	// Legacy marks the un-enveloped format of the "messaging" (1.0)
	// driver.
	Legacy bool
	// Hops is the hop count of a notification a wasmrpcd guest emits, as
	// Request.Hops ("_wasmrpcd_hops", written only when not 0; oslo's
	// notification dispatcher reads the members it knows and ignores it).
	Hops int
}

// RoutingKey is the routing key of n on the control exchange for a
// notification topic: "<topic>.<priority in lower case>".
func (n *Notification) RoutingKey(topic string) string {
	return topic + "." + strings.ToLower(n.Priority)
}

// FormatTimestamp writes t in UTC as Python's str(datetime) does, which
// is how oslo's Notifier writes "timestamp": "2006-01-02 15:04:05.000123",
// without the fraction when the microseconds are zero.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Truncate(time.Microsecond).Format("2006-01-02 15:04:05.000000")
}

// DecodeNotification decodes a notification from an AMQP message body,
// enveloped (messagingv2) or not (messaging), as an oslo.messaging
// notification listener reads it. Members that are absent or null are
// empty.
func DecodeNotification(body []byte) (Notification, error) {
	p := getParser()
	defer putParser(p)
	var n Notification
	p.args = append(p.args[:0], cborNull)
	enveloped, pk, err := p.message(body, func(key []byte) error {
		switch string(key) {
		case "message_id":
			return p.field("message_id", &n.MessageID)
		case "publisher_id":
			return p.field("publisher_id", &n.PublisherID)
		case "event_type":
			return p.field("event_type", &n.EventType)
		case "priority":
			return p.field("priority", &n.Priority)
		case "timestamp":
			return p.field("timestamp", &n.Timestamp)
		case "payload":
			var err error
			p.args, err = p.value(p.args[:0])
			return err
		case keyHops:
			var err error
			n.Hops, err = p.hops()
			return err
		default:
			return p.skip()
		}
	})
	n.UniqueID, n.Legacy = pk.uniqueID, !enveloped
	if err != nil {
		return n, err
	}
	out := make([]byte, 0, p.contextLen(pk.timeout)+len(p.args))
	out = p.appendContext(out, pk.timeout)
	c := len(out)
	out = append(out, p.args...)
	n.Context, n.Payload = out[:c:c], out[c:]
	return n, nil
}

// EncodeNotification appends the AMQP body of n to dst, byte for byte as
// oslo.messaging's Notifier with the messagingv2 driver writes it, or the
// messaging driver when n.Legacy is set. Every member is written, empty
// strings as "", as the Notifier always sets them. Context must be a CBOR
// map with text keys, or nil.
func EncodeNotification(dst []byte, n *Notification) ([]byte, error) {
	if n.UniqueID == "" {
		return dst, fmt.Errorf("%w: the notification has no unique ID", ErrMessage)
	}
	p := getParser()
	defer putParser(p)
	m := p.msg[:0]
	if n.Legacy {
		m = dst
	}
	m = append(m, `{"message_id": `...)
	m = appendPyString(m, []byte(n.MessageID))
	m = append(m, `, "publisher_id": `...)
	m = appendPyString(m, []byte(n.PublisherID))
	m = append(m, `, "event_type": `...)
	m = appendPyString(m, []byte(n.EventType))
	m = append(m, `, "priority": `...)
	m = appendPyString(m, []byte(n.Priority))
	m = append(m, `, "payload": `...)
	var err error
	if len(n.Payload) == 0 {
		m = append(m, "null"...)
	} else if m, err = CBORToJSON(m, n.Payload); err != nil {
		return dst, fmt.Errorf("payload: %w", err)
	}
	m = append(m, `, "timestamp": `...)
	m = appendPyString(m, []byte(n.Timestamp))
	m = append(m, `, "_unique_id": `...)
	m = appendPyString(m, []byte(n.UniqueID))
	if n.Hops > 0 {
		m = fmt.Appendf(append(m, `, "`+keyHops+`": `...), "%d", min(n.Hops, MaxHops))
	}
	if m, err = appendPackedContext(m, n.Context); err != nil {
		return dst, err
	}
	m = append(m, '}')
	if n.Legacy {
		return m, nil
	}
	p.msg = m
	return appendEnvelope(dst, m), nil
}
