// Command echoserver answers oslo.messaging RPC calls with the least work
// a correct server can do, straight on amqp091-go: it consumes a topic
// queue, reads each request with host/oslo, and replies with the
// request's "value" argument in the oslo reply format. It measures the
// ceiling of RPC over the broker on a machine, against which
// `wasmrpcd bench` compares wasmrpcd (scripts/bench.sh).
//
//	echoserver -url amqp://guest:guest@127.0.0.1:5672/ -topic T [-exchange openstack] [-workers 4] [-prefetch 64] [-confirm | -pipeline]
//
// It declares the topic exchange and queue as oslo.messaging does with
// its default options, prints "ready" once it consumes, and runs until
// SIGINT or SIGTERM. Replies go without publisher confirms unless
// -confirm, which publishes them as wasmrpcd does (confirm mode, one
// publish at a time per channel, mandatory), or -pipeline: confirm mode,
// mandatory, but without waiting for each confirm (they are counted as
// they come, many publishes in flight per channel).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "broker `URL` (amqp091-go's form)")
	exchange := flag.String("exchange", "openstack", "the topic `exchange`")
	topic := flag.String("topic", "", "the `topic` to serve (required)")
	workers := flag.Int("workers", 4, "consumers, each on a channel of its own")
	prefetch := flag.Int("prefetch", 64, "unacknowledged requests per consumer")
	confirm := flag.Bool("confirm", false, "publish replies with publisher confirms, one at a time per channel, mandatory")
	pipeline := flag.Bool("pipeline", false, "publish replies in confirm mode, mandatory, without waiting for each confirm")
	flag.Parse()
	if *topic == "" || *workers < 1 || (*confirm && *pipeline) {
		fmt.Fprintln(os.Stderr, "usage: echoserver -topic T [-url URL] [-exchange E] [-workers N] [-prefetch P] [-confirm | -pipeline]")
		os.Exit(2)
	}
	mode := none
	switch {
	case *confirm:
		mode = wait
	case *pipeline:
		mode = pipelined
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *url, *exchange, *topic, *workers, *prefetch, mode); err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}

// confirms is how replies are published.
type confirms int

const (
	none      confirms = iota // no confirm mode
	wait                      // confirm mode, waiting for each confirm
	pipelined                 // confirm mode, confirms counted as they come
)

func serve(ctx context.Context, url, exchange, topic string, workers, prefetch int, mode confirms) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if err := declare(ch, exchange, topic, prefetch, mode != none); err != nil {
			return err
		}
		if mode == pipelined {
			acks := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
			returns := ch.NotifyReturn(make(chan amqp.Return, 16))
			wg.Go(func() {
				for range acks { // closed with the channel
				}
			})
			wg.Go(func() {
				for range returns {
				}
			})
		}
		deliveries, err := ch.Consume(topic, "", false, false, false, false, nil)
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer ch.Close()
			if err := answer(ctx, ch, deliveries, mode); err != nil {
				errs <- err
			}
		})
	}
	fmt.Println("ready")
	wg.Wait()
	close(errs)
	return <-errs
}

// declare sets up a channel: the exchange, queue and binding oslo's
// rabbit driver declares for a topic with its default options.
func declare(ch *amqp.Channel, exchange, topic string, prefetch int, confirm bool) error {
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return err
	}
	if confirm {
		if err := ch.Confirm(false); err != nil {
			return err
		}
	}
	if err := ch.ExchangeDeclare(exchange, "topic", false, false, false, false, nil); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(topic, false, false, false, false, nil); err != nil {
		return err
	}
	return ch.QueueBind(topic, topic, exchange, false, nil)
}

// answer replies to each call until ctx ends or the channel closes.
func answer(ctx context.Context, ch *amqp.Channel, deliveries <-chan amqp.Delivery, mode confirms) error {
	var buf []byte
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case d, ok = <-deliveries:
			if !ok {
				return errors.New("the broker closed the channel")
			}
		}
		req, err := oslo.DecodeRequest(d.Body)
		if err != nil || !req.IsCall() {
			if err := d.Ack(false); err != nil {
				return err
			}
			continue
		}
		var args map[string]abi.RawMessage
		if err := cborcodec.Unmarshal(req.Args, &args); err != nil {
			return err
		}
		buf, err = oslo.EncodeReply(buf[:0], oslo.ResultReply(req.MsgID, oslo.NewID(), args["value"]))
		if err != nil {
			return err
		}
		msg := amqp.Publishing{ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: amqp.Persistent, Body: buf}
		switch mode {
		case wait:
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", req.ReplyQ, true, false, msg)
			if err != nil {
				return err
			}
			if _, err := dc.WaitContext(ctx); err != nil {
				return err
			}
		case pipelined:
			if err := ch.PublishWithContext(ctx, "", req.ReplyQ, true, false, msg); err != nil {
				return err
			}
		default:
			if err := ch.PublishWithContext(ctx, "", req.ReplyQ, false, false, msg); err != nil {
				return err
			}
		}
		if err := d.Ack(false); err != nil {
			return err
		}
	}
}
