package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// names are one run's broker names.
type names struct {
	exchange, topic, server string
}

func newNames() names {
	var b [5]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return names{exchange: "faults_" + id + "_x", topic: "faults_" + id, server: "faults"}
}

// broker is the script's own view of the broker: probes and clean-up.
type broker struct {
	url string

	mu          sync.Mutex
	replyQueues []string
}

func newBroker(url string) (*broker, error) {
	b := &broker{url: url}
	conn, err := b.dial()
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ at AMQP_URL does not answer: %w", err)
	}
	conn.Close()
	return b, nil
}

func (b *broker) dial() (*amqp.Connection, error) {
	return amqp.DialConfig(b.url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
}

func (b *broker) addReplyQueues(qs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replyQueues = append(b.replyQueues, qs...)
}

// consumers returns how many consumers queue has; an error when it does
// not exist or the broker does not answer.
func (b *broker) consumers(conn *amqp.Connection, queue string) (int, error) {
	ch, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return q.Consumers, nil
}

// waitConsumer waits until queue has a consumer, probing every 20 ms.
func (b *broker) waitConsumer(ctx context.Context, queue string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var conn *amqp.Connection
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		if conn == nil || conn.IsClosed() {
			conn, _ = b.dial()
		}
		if conn != nil {
			if n, err := b.consumers(conn, queue); err == nil && n > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nobody consumes from %s after %v", queue, limit)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// restart stops and starts the broker's application and measures how
// long the broker and then the server consuming from topic took to come
// back. The broker is started again whatever happens.
func (b *broker) restart(ctx context.Context, topic string) (restart, error) {
	if err := rabbitmqctl("stop_app"); err != nil {
		_ = rabbitmqctl("start_app")
		return restart{}, err
	}
	up := make(chan time.Time, 1)
	probeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for probeCtx.Err() == nil {
			if conn, err := b.dial(); err == nil {
				up <- time.Now()
				conn.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := rabbitmqctl("start_app"); err != nil {
		return restart{}, err
	}
	var upAt time.Time
	select {
	case upAt = <-up:
	case <-time.After(time.Minute):
		return restart{}, errors.New("the broker does not accept connections a minute after start_app")
	}
	if err := b.waitConsumer(ctx, topic, 2*time.Minute); err != nil {
		return restart{}, fmt.Errorf("after the restart: %w", err)
	}
	return restart{ServerBack: time.Since(upAt).Seconds()}, nil
}

// cleanup deletes the run's queues and exchange.
func (b *broker) cleanup(n names) {
	conn, err := b.dial()
	if err != nil {
		return
	}
	defer conn.Close()
	b.mu.Lock()
	queues := append([]string{n.topic, n.topic + "." + n.server}, b.replyQueues...)
	b.mu.Unlock()
	for _, q := range queues {
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(q, false, false, false)
			ch.Close()
		}
	}
	for _, e := range []string{n.exchange, n.topic + "_fanout"} {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(e, false, false)
			ch.Close()
		}
	}
}

// rabbitmqctl runs rabbitmqctl with args.
func rabbitmqctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
