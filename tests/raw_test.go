package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rawClient speaks to RPC servers with hand-made AMQP messages: it
// publishes any body, well-formed or not, and collects the replies that
// come to its own reply queue.
type rawClient struct {
	ch     *amqp.Channel
	replyQ string

	mu      sync.Mutex // guards replies
	replies map[string][]rawReply
	changed chan struct{} // closed and replaced at each reply
	done    chan struct{} // closed when the consumer ends
}

// rawReply is one reply message: oslo's {"result", "failure", "ending",
// "_msg_id"} in the 2.0 envelope.
type rawReply struct {
	MsgID   string          `json:"_msg_id"`
	Result  json.RawMessage `json:"result"`
	Failure *string         `json:"failure"`
	Ending  bool            `json:"ending"`
}

// rawFailure is the remote exception a failure reply carries.
type rawFailure struct {
	Class   string            `json:"class"`
	Module  string            `json:"module"`
	Message string            `json:"message"`
	Args    []json.RawMessage `json:"args"`
}

// failure decodes the reply's failure; nil for a result.
func (r rawReply) failure() (*rawFailure, error) {
	if r.Failure == nil {
		return nil, nil
	}
	var f rawFailure
	if err := json.Unmarshal(pyJSON([]byte(*r.Failure)), &f); err != nil {
		return nil, fmt.Errorf("failure %q: %w", *r.Failure, err)
	}
	return &f, nil
}

// newRawClient declares a reply queue of its own (exclusive: it goes away
// with the connection) and consumes it.
func newRawClient(t *testing.T) *rawClient {
	t.Helper()
	conn := dialT(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{ch: ch, replyQ: "reply_" + newID(), replies: map[string][]rawReply{},
		changed: make(chan struct{}), done: make(chan struct{})}
	if _, err := ch.QueueDeclare(c.replyQ, false, true, true, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(c.replyQ, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		for d := range deliveries {
			var r rawReply
			if msg, err := openEnvelope(d.Body); err != nil {
				t.Errorf("reply %q: %v", d.Body, err)
			} else if err := json.Unmarshal(pyJSON(msg), &r); err != nil {
				t.Errorf("reply %s: %v", msg, err)
			}
			c.mu.Lock()
			c.replies[r.MsgID] = append(c.replies[r.MsgID], r)
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ch.Close()
		<-c.done
	})
	return c
}

// newID returns a fresh ID as oslo makes them: a UUID4's 32 hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// envelope wraps an oslo message (JSON text) in the 2.0 envelope.
func envelope(msg []byte) []byte {
	b, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": string(msg)})
	return b
}

// openEnvelope returns the message a 2.0 envelope carries.
func openEnvelope(body []byte) ([]byte, error) {
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env["oslo.version"] != "2.0" {
		return nil, fmt.Errorf("envelope version %q", env["oslo.version"])
	}
	return []byte(env["oslo.message"]), nil
}

// call returns the body of a well-formed call of method with args (a JSON
// object) replying to c, and its message ID.
func (c *rawClient) call(method, args string) (body []byte, msgID string) {
	msgID = newID()
	msg := fmt.Sprintf(`{"method": %q, "args": %s, "_msg_id": %q, "_reply_q": %q, "_timeout": null, "_unique_id": %q}`,
		method, args, msgID, c.replyQ, newID())
	return envelope([]byte(msg)), msgID
}

// publish sends body to queue through the default exchange, with the
// properties kombu gives oslo.messaging's messages.
func (c *rawClient) publish(ctx context.Context, queue string, body []byte, expiration string) error {
	return c.ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Expiration:      expiration,
		Body:            body,
	})
}

// wait returns the final reply (ending) to msgID, waiting for it until
// ctx ends.
func (c *rawClient) wait(ctx context.Context, msgID string) (rawReply, error) {
	for {
		c.mu.Lock()
		for _, r := range c.replies[msgID] {
			if r.Ending || r.Failure != nil { // not a call-monitor heartbeat
				c.mu.Unlock()
				return r, nil
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return rawReply{}, fmt.Errorf("no reply to %s: %w", msgID, ctx.Err())
		case <-c.done:
			return rawReply{}, fmt.Errorf("no reply to %s: the reply consumer ended", msgID)
		case <-changed:
		}
	}
}

// count returns how many reply messages came for msgID.
func (c *rawClient) count(msgID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.replies[msgID])
}

// waitFor is wait with a generous deadline, failing t.
func (c *rawClient) waitFor(t *testing.T, msgID string) rawReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.wait(ctx, msgID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
