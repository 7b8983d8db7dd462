package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// defaultPublisherID is the publisher_id of `wasmrpcd notify` without
// --publisher-id.
const defaultPublisherID = "wasmrpcd"

// runNotify is `wasmrpcd notify [flags] EVENT_TYPE [PAYLOAD_JSON]`: send
// one notification, as oslo_messaging.Notifier does, and return once the
// broker has it. It prints nothing on success.
func runNotify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notify", stderr)
	var broker brokerFlags
	broker.register(fs)
	exchange := fs.String("exchange", "", "the control `exchange` notifications go to (default "+transport.DefaultControlExchange+")")
	topics := fs.String("topic", notify.DefaultTopic, "the notification `topic`; several separated by commas, as oslo's topics option")
	publisherID := fs.String("publisher-id", defaultPublisherID, "the notification's publisher_id, such as compute.host1")
	priority := fs.String("priority", string(notify.PriorityInfo), "`priority`: audit, debug, info, warn (or warning), error, critical or sample")
	reqCtx := fs.String("context", "", "the request context, a JSON `object`; only the keys oslo's Notifier keeps go out")
	driver := fs.String("driver", string(notify.DriverMessagingV2), "notification `driver`: messagingv2 (the 2.0 envelope) or messaging (the legacy format)")
	timeout := fs.Duration("timeout", rpc.DefaultTimeout, "how long to wait for the broker to take the notification")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd notify [flags] EVENT_TYPE [PAYLOAD_JSON]")
		fmt.Fprintln(fs.Output(), "Sends one notification with the payload PAYLOAD_JSON (any JSON value; default {}) to topic.priority")
		fmt.Fprintln(fs.Output(), "on the control exchange, and returns once the broker has it. Prints nothing on success.")
		fmt.Fprintln(fs.Output(), "Exit codes: 2 usage, 3 not sent within --timeout, 4 broker unreachable.")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var eventType, payloadJSON string
	switch len(pos) {
	case 1:
		eventType, payloadJSON = pos[0], "{}"
	case 2:
		eventType, payloadJSON = pos[0], pos[1]
	default:
		return fmt.Errorf("%w: want EVENT_TYPE [PAYLOAD_JSON], got %d arguments", errUsage, len(pos))
	}
	if eventType == "" {
		return fmt.Errorf("%w: EVENT_TYPE must not be empty", errUsage)
	}
	opts, err := notifierOptions(*topics, *driver, *timeout)
	if err != nil {
		return err
	}
	if *publisherID == "" {
		return fmt.Errorf("%w: --publisher-id must not be empty", errUsage)
	}
	prio, err := notifyPriority(*priority)
	if err != nil {
		return err
	}
	payload, err := oslo.JSONToCBOR(nil, []byte(payloadJSON))
	if err != nil {
		return fmt.Errorf("%w: PAYLOAD_JSON: %w", errUsage, err)
	}
	var rc []byte
	if *reqCtx != "" {
		if rc, err = jsonObject("--context", *reqCtx); err != nil {
			return err
		}
	}

	sendCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	url, topts, err := broker.transport(transport.Options{Logger: log, ControlExchange: *exchange}, stderr)
	if err != nil {
		return err
	}
	t, err := transport.Open(sendCtx, url, topts)
	switch {
	case errors.Is(err, transport.ErrInvalidURL) || errors.Is(err, transport.ErrInvalidOption):
		return fmt.Errorf("%w: --url: %w", errUsage, err)
	case err != nil && ctx.Err() != nil:
		return exitError{130, "wasmrpcd notify: interrupted"}
	case err != nil && sendCtx.Err() != nil:
		return exitError{exitUnreachable, fmt.Sprintf("wasmrpcd notify: cannot reach the broker within %v: %v", *timeout, err)}
	case err != nil:
		return exitError{exitUnreachable, fmt.Sprintf("wasmrpcd notify: cannot reach the broker: %v", err)}
	}
	defer t.Close()
	n, err := notify.NewNotifier(t, *publisherID, opts)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	err = n.Notify(sendCtx, prio, rc, eventType, payload)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return exitError{130, "wasmrpcd notify: interrupted"}
	case sendCtx.Err() != nil:
		return exitError{exitTimeout, fmt.Sprintf("wasmrpcd notify: timed out: not sent within %v: %v", *timeout, err)}
	default:
		return exitError{exitUnreachable, "wasmrpcd notify: " + strings.TrimPrefix(err.Error(), "notify: ")}
	}
}

// notifierOptions checks --topic, --driver and --timeout.
func notifierOptions(topics, driver string, timeout time.Duration) (notify.NotifierOptions, error) {
	opts := notify.NotifierOptions{Driver: notify.Driver(driver), Timeout: timeout}
	switch opts.Driver {
	case notify.DriverMessagingV2, notify.DriverMessaging:
	default:
		return opts, fmt.Errorf("%w: --driver %q: want messagingv2 or messaging", errUsage, driver)
	}
	for _, topic := range strings.Split(topics, ",") {
		topic = strings.TrimSpace(topic)
		if topic == "" {
			return opts, fmt.Errorf("%w: --topic %q: empty topic", errUsage, topics)
		}
		opts.Topics = append(opts.Topics, topic)
	}
	if timeout <= 0 {
		return opts, fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	return opts, nil
}

// notifyPriority reads --priority in any case; "warning" is warn, as
// oslo's Notifier.warning sends WARN.
func notifyPriority(s string) (notify.Priority, error) {
	if strings.EqualFold(s, "warning") {
		return notify.PriorityWarn, nil
	}
	p, err := notify.ParsePriority(s)
	if err != nil {
		return "", fmt.Errorf("%w: --priority %q: want audit, debug, info, warn, error, critical or sample", errUsage, s)
	}
	return p, nil
}
