package rpc

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Target addresses RPC servers and the methods they serve, as
// oslo_messaging.Target does for a client.
type Target struct {
	// Exchange is the topic exchange; "" means the transport's control
	// exchange.
	Exchange string
	// Topic is the topic the servers listen on. Required.
	Topic string
	// Server, when set, sends to that server's own queue (topic.server).
	Server string
	// Fanout casts to every server of Topic. A call cannot be fanout.
	Fanout bool
	// Namespace is the endpoint namespace; "" for none.
	Namespace string
	// Version is the API version the request asks for, "major.minor";
	// "" sends none (the server assumes "1.0").
	Version string
}

// Defaults of oslo.messaging 14.0.3's RPC client.
const (
	// DefaultTimeout is rpc_response_timeout, a call's timeout unless
	// [WithTimeout] sets one.
	DefaultTimeout = 60 * time.Second
	// RetryForever is retry=None: a publish waits for the broker for as
	// long as the call's context allows. It is the default.
	RetryForever = -1
)

// settings are what a Client or a prepared Client sends with.
type settings struct {
	target             Target
	timeout            time.Duration // 0: DefaultTimeout
	callMonitorTimeout time.Duration // 0: none
	versionCap         string        // "": none
	retry              int           // RetryForever or ≥ 0
	hops               int           // oslo.Request.Hops of what is sent
	logger             *slog.Logger
	err                error // a bad option, returned by every call and cast
}

// Option sets one setting of [NewClient] or [Client.Prepare], as the
// keyword arguments of oslo's RPCClient and prepare() do. Options never
// fail: a bad value makes every call and cast of that client return the
// error.
type Option func(*settings)

// WithExchange overrides the target's exchange.
func WithExchange(exchange string) Option { return func(s *settings) { s.target.Exchange = exchange } }

// WithTopic overrides the target's topic.
func WithTopic(topic string) Option { return func(s *settings) { s.target.Topic = topic } }

// WithServer sends to one server's queue; "" to any server of the topic.
func WithServer(server string) Option { return func(s *settings) { s.target.Server = server } }

// WithFanout makes casts go to every server of the topic.
func WithFanout(fanout bool) Option { return func(s *settings) { s.target.Fanout = fanout } }

// WithNamespace overrides the target's namespace; "" for none.
func WithNamespace(namespace string) Option {
	return func(s *settings) { s.target.Namespace = namespace }
}

// WithVersion overrides the version requests ask for; "" for none. As
// oslo's prepare(), it must have an integer major and minor.
func WithVersion(version string) Option {
	return func(s *settings) {
		s.target.Version = version
		if version == "" {
			return
		}
		if _, err := abi.ParseVersion(version); err != nil {
			s.err = fmt.Errorf("rpc: version must contain a major and minor integer: %w", err)
		}
	}
}

// WithTimeout sets how long a call waits for its reply; 0 means
// [DefaultTimeout]. The request expires on the broker after the same time
// (AMQP expiration), as oslo's topic_send sets it. A context deadline
// that comes sooner shortens both.
func WithTimeout(d time.Duration) Option { return func(s *settings) { s.timeout = max(d, 0) } }

// WithCallMonitorTimeout asks the server for heartbeats while a call runs
// (the request's `_timeout`); a call fails with [ErrTimeout] when no
// reply comes within d, however long its timeout. 0 means none. Like
// oslo, servers heartbeat every half of the whole seconds of d, so d
// under 2 s gets no heartbeats.
func WithCallMonitorTimeout(d time.Duration) Option {
	return func(s *settings) { s.callMonitorTimeout = max(d, 0) }
}

// WithVersionCap refuses, with a [*VersionCapError], requests whose
// version the cap does not cover; "" means no cap.
func WithVersionCap(cap string) Option {
	return func(s *settings) {
		s.versionCap = cap
		if cap == "" {
			return
		}
		if _, err := abi.ParseVersion(cap); err != nil {
			s.err = fmt.Errorf("rpc: version cap: %w", err)
		}
	}
}

// WithRetry is oslo's retry: how often sending is retried while the
// broker is unreachable, when the connection is lost before the broker
// confirmed the message, or when it refuses the message. [RetryForever] (any
// negative n, the default) waits as long as the context allows; 0 tries
// once; n retries n times, pausing as kombu does (1 s, then 2 s more each
// time, at most 30 s), then fails with [ErrDeliveryFailure].
func WithRetry(n int) Option {
	return func(s *settings) {
		if n < 0 {
			n = RetryForever
		}
		s.retry = n
	}
}

// WithLogger sets the logger of the client's reply listener; nil means
// slog.Default(). It takes effect in [NewClient] only.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithHops sets the hop count requests carry (oslo.Request.Hops): a
// server that sends requests while it serves one of n hops sends them
// with n+1, so that a chain of calls or casts can be bounded. 0, the
// default, sends none, as a Python client does.
func WithHops(n int) Option { return func(s *settings) { s.hops = max(n, 0) } }
