// Package notify sends and receives oslo.messaging notifications: a
// [Notifier], as oslo_messaging.Notifier, and a notification [Listener],
// as get_notification_listener and get_batch_notification_listener make
// one. Python services and wasmrpcd can notify each other and share
// listener pools, through host/transport (RabbitMQ or memory) and the
// wire format of host/oslo.
//
// # Sending
//
// A notifier publishes each notification to every one of its topics,
// with routing key "<topic>.<priority>" on the control exchange, in the
// messagingv2 envelope (or the legacy un-enveloped format):
//
//	n, err := notify.NewNotifier(tr, "compute.host1", notify.NotifierOptions{})
//	err = n.Info(ctx, reqCtx, "compute.instance.create.end", payload)
//
// Context and payload are CBOR (see docs/VALUES.md); the context is cut
// down to [SafeContextKeys] as oslo's Notifier does.
//
// # Receiving
//
// A listener consumes topic.priority for each target and each priority
// its endpoints handle, and calls the handlers of the notification's
// priority whose endpoint filter matches it:
//
//	d, err := notify.NewDispatcher(notify.Endpoint{
//		Handlers: map[notify.Priority]notify.Handler{notify.PriorityInfo: h},
//	})
//	l := notify.NewListener(tr, []notify.Target{{Topic: "notifications"}}, d, notify.ListenerOptions{Pool: "audit"})
//	err = l.Start(ctx)
//	defer l.Shutdown(ctx)
//
// Listeners without a pool share the queue "<topic>.<priority>"; those of
// one pool share the queue named after the pool. So every notification
// reaches one listener without a pool and one listener of each pool.
//
// A notification is acknowledged once its handlers return, or requeued
// when one returns [Requeue] or an error, as oslo's dispatcher does
// (with allow_requeue; [ListenerOptions].NoRequeue acknowledges instead).
//
// # Wasm modules
//
// A wasm module's notification exports (notify.<priority>, abi/README.md)
// become a [Handler] in a thin adapter: the export gets [Message].Context
// as its context and [Message.Args] as its arguments, and [ResultOf]
// reads its result value. docs/NOTIFICATIONS.md describes the module
// configuration.
package notify
