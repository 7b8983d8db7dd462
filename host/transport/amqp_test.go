package transport

import (
	"context"
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
