package transport

import (
	"encoding/json"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
)

// Tests of the options of oslo.messaging 16 to 18 on the real broker,
// beyond the behaviour every transport shares (TestAMQPBehaviourKolla).

func kollaEnv(t *testing.T, name string) *env {
	u := brokerURL(t)
	opts := kollaOptions(name + "-" + uuidHex()[:8])
	fast := fastReconnect(t, name)
	opts.ConnectionName, opts.ReconnectDelay, opts.RetryInterval, opts.Logger = fast.ConnectionName, fast.ReconnectDelay, fast.RetryInterval, fast.Logger
	return newEnv(t, &kollaImpl{amqpImpl{url: u, j: newJanitor(t, u)}}, opts)
}

// brokerQueue is a queue as rabbitmqctl lists it.
type brokerQueue struct {
	Name      string  `json:"name"`
	Durable   bool    `json:"durable"`
	Type      string  `json:"type"`
	Arguments [][]any `json:"arguments"` // [name, type, value]
}

// arg returns the value of the queue's argument name, or nil.
func (q brokerQueue) arg(name string) any {
	for _, a := range q.Arguments {
		if len(a) == 3 && a[0] == name {
			return a[2]
		}
	}
	return nil
}

func listQueue(t *testing.T, name string) brokerQueue {
	t.Helper()
	var qs []brokerQueue
	out := brokertest.Rabbitmqctl(t, "list_queues", "name", "durable", "type", "arguments", "--formatter", "json", "--quiet")
	if err := json.Unmarshal(out, &qs); err != nil {
		t.Fatalf("list_queues: %v: %s", err, out)
	}
	for _, q := range qs {
		if q.Name == name {
			return q
		}
	}
	t.Fatalf("the broker has no queue %s", name)
	return brokerQueue{}
}

// TestStreamFanout: with rabbit_stream_fanout, the servers of a topic read
// one durable stream named after the fanout exchange; a server reads what
// is published from the time it listens, not before; after its connection
// is lost it resumes after the last message it took, losing and repeating
// none.
func TestStreamFanout(t *testing.T) {
	e := kollaEnv(t, "stream")
	topic := e.topic("s1", "s2")
	s1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
	e.send(Target{Topic: topic, Fanout: true}, "before s2", SendOptions{})
	ack(t, e.next(s1, "before s2"))
	s2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
	e.send(Target{Topic: topic, Fanout: true}, "both", SendOptions{})
	ack(t, e.next(s1, "both"))
	ack(t, e.next(s2, "both")) // not "before s2"

	q := listQueue(t, topic+"_fanout")
	if q.Type != "stream" || !q.Durable || q.arg("x-max-age") != "1800s" {
		t.Errorf("the fanout stream is %+v, want a durable stream with x-max-age 1800s", q)
	}

	// s1 loses its connection while messages come.
	_, listen := e.tr.(*AMQP).ConnectionNames()
	if n := brokertest.CloseConnections(t, listen); n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	for _, m := range []string{"m1", "m2", "m3"} {
		e.send(Target{Topic: topic, Fanout: true}, m, SendOptions{})
	}
	for _, l := range []Listener{s1, s2} {
		for _, m := range []string{"m1", "m2", "m3"} {
			ack(t, e.next(l, m))
		}
	}
}

// TestTransientQuorumQueues: reply and fanout queues are durable quorum
// queues that still expire, and the queue manager names them after the
// host, the process and a count per prefix.
func TestTransientQuorumQueues(t *testing.T) {
	e := kollaEnv(t, "quorum")
	opts := e.opts
	opts.StreamFanout = false
	e.tr = e.impl.open(t, opts)
	topic := e.topic("s1")
	srv := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
	prefix := opts.Hostname + ":" + opts.ProcessName
	if got, want := srv.Queues()[2], topic+"_fanout_"+prefix+":1"; got != want {
		t.Errorf("fanout queue %s, want %s", got, want)
	}
	replies, err := e.tr.ListenReplies(e.ctx(), "")
	if err != nil {
		t.Fatal(err)
	}
	e.impl.forget(t, replies.Queues(), nil)
	defer replies.Close()
	if got, want := replies.Queues()[0], "reply_"+prefix+":1"; got != want {
		t.Errorf("reply queue %s, want %s", got, want)
	}
	for _, name := range []string{srv.Queues()[2], replies.Queues()[0]} {
		q := listQueue(t, name)
		if q.Type != "quorum" || !q.Durable || q.arg("x-expires") != float64(1800000) {
			t.Errorf("queue %s is %+v, want a durable quorum queue with x-expires 1800000", name, q)
		}
	}
	for _, name := range []string{topic, topic + ".s1"} {
		if q := listQueue(t, name); q.Type != "quorum" || !q.Durable {
			t.Errorf("queue %s is %+v, want a durable quorum queue", name, q)
		}
	}
	// A second server of the topic in the process counts on.
	srv2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
	e.impl.forget(t, []string{topic + ".s2"}, nil)
	if got, want := srv2.Queues()[2], topic+"_fanout_"+prefix+":2"; got != want {
		t.Errorf("second fanout queue %s, want %s", got, want)
	}
	// The queue manager's queues stay when their listener closes: a
	// restarted process declares them again.
	srv.Close()
	listQueue(t, topic+"_fanout_"+prefix+":1")
}

// TestCompressedMessages: with kombu_compression, bodies go out compressed
// with the compression header, and come back decompressed; a message whose
// codec cannot be read is dropped, counted, and the next one is read.
func TestCompressedMessages(t *testing.T) {
	e := kollaEnv(t, "gzip")
	topic := e.topic("s1")
	srv := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
	body := strings.Repeat(`{"method": "echo"} `, 100)
	e.send(Target{Topic: topic, Server: "s1"}, body, SendOptions{})
	ack(t, e.next(srv, body))

	// What went over the wire, read by a plain consumer.
	u := brokerURL(t)
	admin, err := adminDial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ch, err := admin.Channel()
	if err != nil {
		t.Fatal(err)
	}
	probe := NewReplyQueueName()
	e.impl.forget(t, []string{probe}, nil)
	if _, err := ch.QueueDeclare(probe, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Reply(e.ctx(), probe, []byte(body)); err != nil {
		t.Fatal(err)
	}
	raw, ok, err := ch.Get(probe, true)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if raw.Headers["compression"] != "application/x-gzip" || len(raw.Body) >= len(body) || raw.ContentType != ContentType {
		t.Errorf("published with headers %v, content type %q, %d bytes for %d", raw.Headers, raw.ContentType, len(raw.Body), len(body))
	}

	// A codec nobody can read, then a plain message.
	for _, p := range []amqp.Publishing{
		{Headers: amqp.Table{"compression": "application/x-snappy"}, Body: []byte("??")},
		{Body: []byte("plain")},
	} {
		if err := ch.Publish(e.exchange, topic+".s1", false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	ack(t, e.next(srv, "plain"))
	if n := e.tr.(*AMQP).Status().Unreadable; n != 1 {
		t.Errorf("Unreadable = %d, want 1", n)
	}
	// The dropped message was rejected, not requeued.
	if m, _ := ch.QueueDeclarePassive(topic+".s1", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); m.Messages != 0 {
		t.Errorf("%d messages left in %s", m.Messages, topic+".s1")
	}
}
