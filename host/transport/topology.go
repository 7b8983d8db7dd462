package transport

import (
	"crypto/rand"
	"encoding/hex"
)

// Exchange kinds.
const (
	kindTopic  = "topic"
	kindFanout = "fanout"
	kindDirect = "direct"
)

// exchangeDecl is one exchange.declare, with the fields kombu sends
// (internal is always false and arguments empty).
type exchangeDecl struct {
	Name       string
	Kind       string
	Durable    bool
	AutoDelete bool
}

// queueDecl is one queue.declare followed by the binding of the queue to
// its exchange. An Exchange named "" is the default exchange: it is neither
// declared nor bound (kombu skips both for it).
type queueDecl struct {
	Name       string
	Durable    bool
	AutoDelete bool
	Args       map[string]any // values are int32, string or bool
	Exchange   exchangeDecl
	BindingKey string
}

// The declarations below are those of oslo.messaging 14.0.3's
// impl_rabbit.py, function by function; docs/WIRE-TOPOLOGY.md records the
// result as the broker lists it.

// topicExchange is the exchange of Connection.topic_send, notify_send and
// declare_topic_consumer.
func (o Options) topicExchange(name string) exchangeDecl {
	if name == "" {
		name = o.controlExchange()
	}
	return exchangeDecl{Name: name, Kind: kindTopic, Durable: o.durable(), AutoDelete: o.AutoDelete}
}

// fanoutExchange is the exchange of Connection.fanout_send and
// declare_fanout_consumer.
func fanoutExchange(topic string) exchangeDecl {
	return exchangeDecl{Name: topic + "_fanout", Kind: kindFanout, Durable: false, AutoDelete: true}
}

// topicQueue is Connection.declare_topic_consumer: the RPC server's topic
// and topic.server queues and the notification listener's queues (named
// after the pool when there is one). notify_send declares the same queue
// (named after the routing key) before publishing a notification.
func (o Options) topicQueue(exchange, routingKey, queueName string) queueDecl {
	if queueName == "" {
		queueName = routingKey
	}
	return queueDecl{
		Name:       queueName,
		Durable:    o.durable(),
		AutoDelete: o.AutoDelete,
		Args:       o.queueArgs(false, true),
		Exchange:   o.topicExchange(exchange),
		BindingKey: routingKey,
	}
}

// fanoutQueue is Connection.declare_fanout_consumer: a queue of this server
// only, "<topic>_fanout_<uuid hex>", bound to the fanout exchange.
func (o Options) fanoutQueue(topic string) queueDecl {
	return queueDecl{
		Name:       topic + "_fanout_" + uuidHex(),
		Durable:    false,
		AutoDelete: false,
		Args:       o.queueArgs(true, false),
		Exchange:   fanoutExchange(topic),
		BindingKey: topic,
	}
}

// replyQueue is Connection.declare_direct_consumer: the RPC client's reply
// queue, on the default exchange.
func (o Options) replyQueue(name string) queueDecl {
	return queueDecl{
		Name:       name,
		Durable:    false,
		AutoDelete: false,
		Args:       o.queueArgs(true, false),
		Exchange:   exchangeDecl{Name: "", Kind: kindDirect},
	}
}

// queueArgs is _get_queue_arguments: x-ha-policy, the quorum arguments
// (only where the consumer passes rabbit_quorum_queue: topic and
// notification queues) and x-expires (only for reply and fanout queues).
func (o Options) queueArgs(expires, quorum bool) map[string]any {
	args := map[string]any{}
	if o.HAQueues {
		args["x-ha-policy"] = "all"
	}
	if quorum && o.QuorumQueues {
		args["x-queue-type"] = "quorum"
		if o.QuorumDeliveryLimit > 0 {
			args["x-delivery-limit"] = int32(o.QuorumDeliveryLimit)
		}
		if o.QuorumMaxMemoryLength > 0 {
			args["x-max-in-memory-length"] = int32(o.QuorumMaxMemoryLength)
		}
		if o.QuorumMaxMemoryBytes > 0 {
			args["x-max-in-memory-bytes"] = int32(o.QuorumMaxMemoryBytes)
		}
	}
	if expires {
		args["x-expires"] = int32(o.queuesTTL().Milliseconds())
	}
	return args
}

// consumerArgs are the basic.consume arguments of every consumer.
func (o Options) consumerArgs() map[string]any {
	if o.CancelOnFailover {
		return map[string]any{"x-cancel-on-ha-failover": true}
	}
	return nil
}

// rpcQueues are the three queues an RPC server consumes (amqpdriver's
// listen): topic and topic.server on the target's exchange, and a fresh
// fanout queue.
func (o Options) rpcQueues(t Target) []queueDecl {
	return []queueDecl{
		o.topicQueue(t.Exchange, t.Topic, ""),
		o.topicQueue(t.Exchange, t.Topic+"."+t.Server, ""),
		o.fanoutQueue(t.Topic),
	}
}

// notifyQueues are the queues of a notification listener
// (listen_for_notifications): one binding per target and priority, on a
// queue named after the routing key, or after the pool when there is one.
func (o Options) notifyQueues(targets []NotifyTarget, pool string) []queueDecl {
	qs := make([]queueDecl, 0, len(targets))
	for _, t := range targets {
		qs = append(qs, o.topicQueue(t.Exchange, t.RoutingKey(), pool))
	}
	return qs
}

// NewReplyQueueName returns a fresh reply queue name as the Python RPC
// client makes one: "reply_" and a random UUID's 32 hex digits.
func NewReplyQueueName() string { return "reply_" + uuidHex() }

// uuidHex returns a random (version 4) UUID as 32 hex digits, Python's
// uuid.uuid4().hex.
func uuidHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}
