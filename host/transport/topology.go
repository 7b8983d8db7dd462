package transport

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
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

// The declarations below are those of oslo.messaging 18.1.0's
// impl_rabbit.py (14.0.3's with its new options at their defaults),
// function by function; docs/WIRE-TOPOLOGY.md records the result as the
// broker lists it.

// topicExchange is the exchange of Connection.topic_send, notify_send and
// declare_topic_consumer.
func (o Options) topicExchange(name string) exchangeDecl {
	if name == "" {
		name = o.controlExchange()
	}
	return exchangeDecl{Name: name, Kind: kindTopic, Durable: o.durable(), AutoDelete: o.AutoDelete}
}

// fanoutExchange is the exchange of Connection.fanout_send and
// declare_fanout_consumer, durable with the transient quorum queues.
func (o Options) fanoutExchange(topic string) exchangeDecl {
	return exchangeDecl{Name: topic + "_fanout", Kind: kindFanout, Durable: o.transientDurable(), AutoDelete: true}
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
		Args:       o.queueArgs(false, o.QuorumQueues),
		Exchange:   o.topicExchange(exchange),
		BindingKey: routingKey,
	}
}

// fanoutQueue is Connection.declare_fanout_consumer: a queue of this
// server only, named "<topic>_fanout_" and unique, bound to the fanout
// exchange; with StreamFanout, the stream "<topic>_fanout" every server of
// the topic shares.
func (o Options) fanoutQueue(topic, unique string) queueDecl {
	q := queueDecl{
		Name:       topic + "_fanout_" + unique,
		Durable:    o.transientDurable(),
		Args:       o.queueArgs(true, o.TransientQuorumQueue),
		Exchange:   o.fanoutExchange(topic),
		BindingKey: topic,
	}
	if o.StreamFanout {
		q.Name = topic + "_fanout"
		q.Args = map[string]any{"x-queue-type": "stream"}
		if ttl := o.queuesTTL(); ttl > 0 {
			q.Args["x-max-age"] = strconv.FormatInt(int64(ttl/time.Second), 10) + "s"
		}
	}
	return q
}

// replyQueue is Connection.declare_direct_consumer: the RPC client's reply
// queue, on the default exchange.
func (o Options) replyQueue(name string) queueDecl {
	return queueDecl{
		Name:     name,
		Durable:  o.TransientQuorumQueue,
		Args:     o.queueArgs(true, o.TransientQuorumQueue),
		Exchange: exchangeDecl{Name: "", Kind: kindDirect},
	}
}

// queueArgs is _get_queue_arguments (without the stream case, which
// fanoutQueue handles): x-ha-policy, the quorum arguments when quorum, and
// x-expires when expires and a TTL is set.
func (o Options) queueArgs(expires, quorum bool) map[string]any {
	args := map[string]any{}
	if o.HAQueues {
		args["x-ha-policy"] = "all"
	}
	if quorum {
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
	if ttl := o.queuesTTL(); expires && ttl > 0 {
		args["x-expires"] = int32(ttl.Milliseconds())
	}
	return args
}

// deletedOnClose returns the name of the fanout queue q that its
// listener deletes when it closes, as oslo's Connection.close does: ""
// for a shared stream and for the queue manager's names, which a
// restarted process declares again.
func (o Options) deletedOnClose(q queueDecl) string {
	if o.StreamFanout || o.QueueManager {
		return ""
	}
	return q.Name
}

// isStream reports whether q is a stream.
func (q queueDecl) isStream() bool { return q.Args["x-queue-type"] == "stream" }

// consumerArgs are the basic.consume arguments of q's consumer: its
// offset for a stream, x-cancel-on-ha-failover for a classic queue when
// CancelOnFailover (RabbitMQ refuses it on quorum queues and streams).
func (o Options) consumerArgs(q queueDecl, streamOffset any) map[string]any {
	switch {
	case q.isStream():
		return map[string]any{"x-stream-offset": streamOffset}
	case o.CancelOnFailover && q.Args["x-queue-type"] == nil:
		return map[string]any{"x-cancel-on-ha-failover": true}
	}
	return nil
}

// rpcQueues are the three queues an RPC server consumes (amqpdriver's
// listen): topic and topic.server on the target's exchange, and a fanout
// queue whose name ends with unique.
func (o Options) rpcQueues(t Target, unique string) []queueDecl {
	return []queueDecl{
		o.topicQueue(t.Exchange, t.Topic, ""),
		o.topicQueue(t.Exchange, t.Topic+"."+t.Server, ""),
		o.fanoutQueue(t.Topic, unique),
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

// queueNames names the reply and fanout queues of one transport: a random
// UUID each, or with the queue manager "<hostname>:<processname>:<n>",
// n counting from 1 for each prefix (a reply queue, a topic's fanout
// queue), so that a daemon that starts its listeners again after a
// restart declares the same queues, whatever order they start in.
type queueNames struct {
	opts Options

	mu    sync.Mutex
	count map[string]int
}

// unique returns the unique part of the next queue name after prefix.
func (n *queueNames) unique(prefix string) string {
	if !n.opts.QueueManager {
		return uuidHex()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.count == nil {
		n.count = map[string]int{}
	}
	n.count[prefix]++
	return fmt.Sprintf("%s:%d", n.opts.queueManagerPrefix(), n.count[prefix])
}
