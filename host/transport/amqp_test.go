package transport

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// amqpImpl runs the behaviour tests on the real broker.
type amqpImpl struct {
	url *URL
	j   *janitor
}

func newAMQPImpl(t *testing.T) impl {
	u := brokerURL(t)
	return &amqpImpl{url: u, j: newJanitor(t, u)}
}

func (a *amqpImpl) open(t *testing.T, opts Options) Transport {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	tr, err := DialAMQP(context.Background(), a.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func (a *amqpImpl) forget(_ *testing.T, queues, exchanges []string) { a.j.add(queues, exchanges) }

func TestAMQPBehaviour(t *testing.T) {
	runBehaviour(t, newAMQPImpl)
}

// BenchmarkSend measures confirmed publishes to a queue from 32
// goroutines (b.SetParallelism), with the default pool of channels.
func BenchmarkSend(b *testing.B) {
	for _, channels := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) {
			u := brokerURLB(b)
			tr, err := DialAMQP(context.Background(), u, Options{PublishChannels: channels, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			q := NewReplyQueueName()
			l, err := tr.ListenReplies(context.Background(), q)
			if err != nil {
				b.Fatal(err)
			}
			defer deleteQueueB(b, u, q)
			defer l.Close()
			go func() {
				for {
					d, err := l.Next(context.Background())
					if err != nil {
						return
					}
					_ = d.Ack()
				}
			}()
			body := make([]byte, 512)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tr.Reply(context.Background(), q, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func brokerURLB(b *testing.B) *URL {
	raw := os.Getenv("AMQP_URL")
	if raw == "" {
		raw = "amqp://guest:guest@127.0.0.1:5672/"
	}
	u, err := ParseURL(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

func deleteQueueB(b *testing.B, u *URL, q string) {
	conn, err := adminDial(u)
	if err != nil {
		b.Error(err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = ch.QueueDelete(q, false, false, false)
}

// kollaOptions are the RabbitMQ options a current deployment tool (Kolla
// Ansible) turns on: quorum queues for topics, quorum reply and fanout
// queues, fanout streams (which need a prefetch), the queue manager's
// stable names and compressed bodies.
func kollaOptions(processName string) Options {
	return Options{
		QuorumQueues: true, TransientQuorumQueue: true, StreamFanout: true, PrefetchCount: 10,
		QueueManager: true, Hostname: "wasmrpcd-test", ProcessName: processName,
		Compression: "gzip",
	}
}

// kollaImpl is amqpImpl that also forgets the stream of each fanout
// exchange.
type kollaImpl struct{ amqpImpl }

func (k *kollaImpl) forget(t *testing.T, queues, exchanges []string) {
	for _, e := range exchanges {
		if strings.HasSuffix(e, "_fanout") {
			queues = append(queues, e)
		}
	}
	k.amqpImpl.forget(t, queues, exchanges)
}

// TestAMQPBehaviourKolla runs the behaviour every transport shares with
// kollaOptions over each test's own.
func TestAMQPBehaviourKolla(t *testing.T) {
	newImpl := func(t *testing.T) impl {
		u := brokerURL(t)
		return &kollaImpl{amqpImpl{url: u, j: newJanitor(t, u)}}
	}
	runBehaviourWith(t, newImpl, func(o Options) Options {
		k := kollaOptions("p" + uuidHex()[:8])
		k.ControlExchange, k.Logger, k.ConnectionName = o.ControlExchange, o.Logger, o.ConnectionName
		k.ReconnectDelay, k.RetryInterval, k.PublishChannels = o.ReconnectDelay, o.RetryInterval, o.PublishChannels
		k.NoDirectMandatory, k.MissingConsumerRetryTimeout = o.NoDirectMandatory, o.MissingConsumerRetryTimeout
		if o.PrefetchCount != 0 {
			k.PrefetchCount = o.PrefetchCount
		}
		return k
	})
}
