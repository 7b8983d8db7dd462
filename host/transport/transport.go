// Package transport moves oslo.messaging messages over RabbitMQ (AMQP 0-9-1
// on amqp091-go) or through memory.
//
// The AMQP transport declares exchanges and queues exactly as
// oslo.messaging's rabbit driver does, so a Python server and wasmrpcd can
// consume the same topic side by side; it reconnects with backoff and
// failover across the transport URL's hosts, re-declares its topology and
// resumes its consumers. The in-memory transport, like oslo's fake://
// driver, routes in process for embedding and tests.
//
// Message bodies are opaque bytes here: the oslo JSON envelope is
// host/oslo's business.
package transport

import (
	"context"
	"time"
)

// Transport carries the messages of the four oslo.messaging roles: RPC
// server (ListenRPC, Reply), RPC client (Send, ListenReplies), notifier
// (Notify) and notification listener (ListenNotifications). Its methods
// are safe for concurrent use.
type Transport interface {
	// ListenRPC declares the three queues of an RPC server and consumes
	// them: target.Topic and target.Topic+"."+target.Server on the topic
	// exchange, and a queue of this listener only on the exchange
	// target.Topic+"_fanout". Topic and Server must not be empty.
	ListenRPC(ctx context.Context, target Target) (Listener, error)
	// ListenReplies declares the reply queue named queue on the default
	// exchange and consumes it; with queue "" the transport names it as
	// oslo's driver does ("reply_" and a UUID, or the queue manager's
	// name), and Queues tells the name. An RPC client uses one reply queue
	// for all its calls.
	ListenReplies(ctx context.Context, queue string) (Listener, error)
	// ListenNotifications declares one queue per target, bound with the
	// routing key topic.priority: named after that routing key (shared by
	// every listener without a pool) or, when pool is not empty, the
	// single queue named pool (shared by the listeners of that pool).
	ListenNotifications(ctx context.Context, targets []NotifyTarget, pool string) (Listener, error)

	// Send publishes an RPC request (call or cast) to target: to the
	// fanout exchange when target.Fanout, else to the topic exchange with
	// routing key topic or topic.server.
	Send(ctx context.Context, target Target, body []byte, opts SendOptions) error
	// Reply publishes an RPC reply to the reply queue named queue through
	// the default exchange, with the mandatory flag: a missing queue gives
	// ErrNoRoute (the server retries for MissingConsumerRetryTimeout).
	Reply(ctx context.Context, queue string, body []byte) error
	// Notify publishes a notification on target's exchange with routing
	// key topic.priority, declaring first the queue named after that key
	// so that nothing is lost before a listener comes.
	Notify(ctx context.Context, target NotifyTarget, body []byte) error

	// Close closes every listener and releases the transport. Publishing
	// and listening afterwards return ErrClosed.
	Close() error
}

// Listener hands over the messages of its queues.
type Listener interface {
	// Next returns the next message, waiting for one until ctx is done.
	// After Close it returns ErrClosed.
	Next(ctx context.Context) (*Delivery, error)
	// Queues returns the names of the queues consumed.
	Queues() []string
	// Close stops consuming. Messages taken with Next and not yet
	// acknowledged go back to their queue (a later Ack returns
	// ErrStaleDelivery). An RPC listener deletes its fanout queue, as
	// oslo.messaging does. Close is idempotent.
	Close() error
}

// Target addresses RPC servers, as oslo_messaging.Target does (the fields
// the transport uses).
type Target struct {
	// Exchange is the topic exchange; "" means Options.ControlExchange.
	Exchange string
	Topic    string
	// Server, when set, addresses that server's own queue topic.server.
	Server string
	// Fanout addresses every server of Topic.
	Fanout bool
}

// NotifyTarget addresses notifications: routing key Topic.Priority on
// Exchange ("" means Options.ControlExchange).
type NotifyTarget struct {
	Exchange string
	Topic    string
	// Priority in lower case: "audit", "debug", "info", "warn", "error",
	// "critical" or "sample".
	Priority string
}

// RoutingKey returns topic.priority.
func (t NotifyTarget) RoutingKey() string { return t.Topic + "." + t.Priority }

// SendOptions tune one Send.
type SendOptions struct {
	// Expiration is the message's time to live in the queue, rounded down
	// to milliseconds (oslo sets it to the call's timeout); 0 means none.
	// It applies to topic sends only, as in oslo.messaging.
	Expiration time.Duration
	// Mandatory is oslo's at_least_once transport option: when no queue
	// is bound to the routing key, Send returns ErrNoRoute.
	Mandatory bool
	// FailFast makes Send return ErrDisconnected instead of waiting for
	// the connection to come back, when it is down or lost under the
	// publish: for a caller that counts its retries (oslo's retry).
	FailFast bool
}

// Message properties of every publish, those kombu gives oslo.messaging's
// JSON messages.
const (
	ContentType     = "application/json"
	ContentEncoding = "utf-8"
)
