"""A real oslo.messaging notification peer: a Notifier, or a notification
listener, for the end-to-end notification tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3, or
18.1.0 from source on PYTHONPATH: internal/oslopeer):

    notify_peer.py notify URL EXCHANGE TOPIC
        Reads JSON lines {"priority", "publisher_id", "event_type", "ctxt",
        "payload"} from stdin and sends each with oslo_messaging.Notifier
        (driver messagingv2, topics [TOPIC]) on control exchange EXCHANGE.
        Prints "sent N" when stdin ends. 14.0.3 sends the safe keys of
        ctxt (user_id, request_id…); 18.1.0 sends no context for a dict.

    notify_peer.py listen URL EXCHANGE TOPIC [--pool P] [--allow-requeue]
                   [--testkit] [--executors N]
        Runs get_notification_listener (threading executor) on TOPIC of
        control exchange EXCHANGE, in pool P (none by default), with an
        endpoint that records every notification of every priority: one
        JSON line {"priority", "ctxt", "publisher_id", "event_type",
        "payload", "metadata"} per notification, printed before the
        endpoint returns. With --testkit, the reference endpoint
        testkit_endpoint.TestkitNotificationEndpoint runs after it (and
        re-emits testkit.* events as testkit.seen on topic testkit_seen).
        Prints "ready" once consuming. When stdin closes it stops, waits
        for the notifications being handled and prints "stopped N", N the
        notifications recorded.

Any failure prints "ERROR <class>: <message>" on stdout and exits 1.
"""

import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oslo_config import cfg  # noqa: E402
import oslo_messaging  # noqa: E402

import testkit_endpoint  # noqa: E402

PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")

_out = threading.Lock()


def emit(line):
    with _out:
        print(line, flush=True)


def transport(url, exchange):
    cfg.CONF([], project="wasmrpcd-tests")
    oslo_messaging.set_transport_defaults(control_exchange=exchange)
    return oslo_messaging.get_notification_transport(cfg.CONF, url=url)


class Recorder(object):
    """Prints every notification it gets, of any priority, and counts them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0

    def _record(self, priority, ctxt, publisher_id, event_type, payload, metadata):
        with self.lock:
            self.count += 1
        emit(json.dumps({"priority": priority, "ctxt": ctxt, "publisher_id": publisher_id,
                         "event_type": event_type, "payload": payload, "metadata": metadata},
                        sort_keys=True))
        return oslo_messaging.NotificationResult.HANDLED


def _method(priority):
    def method(self, ctxt, publisher_id, event_type, payload, metadata):
        return self._record(priority, ctxt, publisher_id, event_type, payload, metadata)
    method.__name__ = priority
    return method


for _p in PRIORITIES:
    setattr(Recorder, _p, _method(_p))


def do_notify(a):
    tr = transport(a.url, a.exchange)
    notifier = oslo_messaging.Notifier(tr, driver="messagingv2", topics=[a.topic])
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        sub = notifier.prepare(publisher_id=item["publisher_id"])
        getattr(sub, item["priority"])(item.get("ctxt") or {}, item["event_type"], item["payload"])
        n += 1
    tr.cleanup()
    emit("sent %d" % n)


def do_listen(a):
    tr = transport(a.url, a.exchange)
    recorder = Recorder()
    endpoints = [recorder]
    if a.testkit:
        notifier = oslo_messaging.Notifier(tr, driver="messagingv2")
        endpoints.append(testkit_endpoint.TestkitNotificationEndpoint(notifier))
    # No executor argument: both versions pick threading where eventlet has
    # not patched the process, and 18.1.0 deprecates the argument.
    listener = oslo_messaging.get_notification_listener(
        tr, [oslo_messaging.Target(topic=a.topic)], endpoints,
        allow_requeue=a.allow_requeue, pool=a.pool)
    # The listener registers the executor options; its pool is made at start.
    cfg.CONF.set_override("executor_thread_pool_size", a.executors)
    listener.start()
    emit("ready")
    sys.stdin.read()
    listener.stop()
    listener.wait()
    tr.cleanup()
    emit("stopped %d" % recorder.count)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    n = sub.add_parser("notify")
    n.add_argument("url")
    n.add_argument("exchange")
    n.add_argument("topic")
    n.set_defaults(run=do_notify)
    li = sub.add_parser("listen")
    li.add_argument("url")
    li.add_argument("exchange")
    li.add_argument("topic")
    li.add_argument("--pool", default=None)
    li.add_argument("--allow-requeue", action="store_true")
    li.add_argument("--testkit", action="store_true")
    li.add_argument("--executors", type=int, default=64)
    li.set_defaults(run=do_listen)
    a = p.parse_args()
    a.run(a)


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 -- reported to the test
        emit("ERROR %s: %s" % (type(exc).__name__, exc))
        sys.exit(1)
