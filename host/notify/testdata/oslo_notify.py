"""A real oslo.messaging peer for host/notify's tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3, or
18.1.0 from source on PYTHONPATH: internal/oslopeer):

  oslo_notify.py filter
      Reads JSON lines {"rules": {...}, "ctxt", "publisher_id",
      "event_type", "metadata", "payload"} and prints for each what
      oslo_messaging.NotificationFilter(**rules).match(...) says:
      {"match": true|false} or {"error": "<exception class>"}.
  oslo_notify.py notify URL EXCHANGE DRIVER TOPICS
      Reads JSON lines {"priority", "publisher_id", "event_type", "ctxt",
      "payload"} and sends each with oslo_messaging.Notifier (driver
      DRIVER, topics TOPICS, comma-separated) on control exchange
      EXCHANGE; prints "SENT <count>" when done.
  oslo_notify.py listen URL EXCHANGE TOPICS POOL MODE
      Runs get_notification_listener (threading executor,
      allow_requeue=True, pool POOL or none when "-") on TOPICS with one
      endpoint handling every priority. MODE is "handled" (return
      HANDLED), "requeue-once" (return REQUEUE the first time a
      message_id is seen) or "fail-once" (raise the first time). Prints
      "READY" once consuming, then a JSON line per endpoint call:
      {"priority", "ctxt", "publisher_id", "event_type", "payload",
      "metadata", "result"}; stops when stdin closes.

Failures print "ERROR <what>" and exit 1.
"""
import json
import logging
import sys
import threading

from oslo_config import cfg
import oslo_messaging as om

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical',
              'sample']

_out = threading.Lock()


def emit(obj):
    with _out:
        print(json.dumps(obj, sort_keys=True))
        sys.stdout.flush()


def transport(url, exchange):
    om.set_transport_defaults(control_exchange=exchange)
    cfg.CONF([], project='oslo_notify')
    return om.get_notification_transport(cfg.CONF, url=url)


class Endpoint(object):
    def __init__(self, mode):
        self.mode = mode
        self.seen = set()
        self.lock = threading.Lock()

    def _handle(self, priority, ctxt, publisher_id, event_type, payload,
                metadata):
        with self.lock:
            first = metadata['message_id'] not in self.seen
            self.seen.add(metadata['message_id'])
        result = 'handled'
        if first and self.mode == 'requeue-once':
            result = 'requeue'
        elif first and self.mode == 'fail-once':
            result = 'fail'
        emit({'priority': priority, 'ctxt': ctxt,
              'publisher_id': publisher_id, 'event_type': event_type,
              'payload': payload, 'metadata': metadata, 'result': result})
        if result == 'requeue':
            return om.NotificationResult.REQUEUE
        if result == 'fail':
            raise RuntimeError('fail-once')
        return om.NotificationResult.HANDLED


def _method(priority):
    def method(self, ctxt, publisher_id, event_type, payload, metadata):
        return self._handle(priority, ctxt, publisher_id, event_type,
                            payload, metadata)
    return method


for _p in PRIORITIES:
    setattr(Endpoint, _p, _method(_p))


def do_filter():
    for line in sys.stdin:
        item = json.loads(line)
        try:
            f = om.NotificationFilter(**item['rules'])
            emit({'match': f.match(item['ctxt'], item['publisher_id'],
                                   item['event_type'], item['metadata'],
                                   item['payload'])})
        except Exception as exc:  # noqa: BLE001 -- reported to the test
            emit({'error': type(exc).__name__})


def do_notify(url, exchange, driver, topics):
    tr = transport(url, exchange)
    notifier = om.Notifier(tr, driver=driver, topics=topics.split(','))
    n = 0
    for line in sys.stdin:
        item = json.loads(line)
        sub = notifier.prepare(publisher_id=item['publisher_id'])
        getattr(sub, item['priority'])(item['ctxt'], item['event_type'],
                                       item['payload'])
        n += 1
    print('SENT %d' % n)
    tr.cleanup()


def do_listen(url, exchange, topics, pool, mode):
    tr = transport(url, exchange)
    targets = [om.Target(topic=t) for t in topics.split(',')]
    # No executor argument: both versions pick threading where eventlet has
    # not patched the process, and 18.1.0 deprecates the argument.
    listener = om.get_notification_listener(
        tr, targets, [Endpoint(mode)], allow_requeue=True,
        pool=None if pool == '-' else pool)
    listener.start()
    with _out:
        print('READY')
        sys.stdout.flush()
    sys.stdin.read()
    listener.stop()
    listener.wait()
    tr.cleanup()


def main(argv):
    mode = argv[1]
    if mode == 'filter':
        do_filter()
    elif mode == 'notify':
        do_notify(*argv[2:6])
    elif mode == 'listen':
        do_listen(*argv[2:7])
    else:
        raise SystemExit('unknown mode %r' % mode)


if __name__ == '__main__':
    try:
        main(sys.argv)
    except Exception as exc:  # noqa: BLE001 -- report any failure
        print('ERROR %s: %s' % (type(exc).__name__, exc))
        sys.stdout.flush()
        sys.exit(1)
