"""A real oslo.messaging peer for host/transport's interoperability tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3, or
18.1.0 from source on PYTHONPATH: internal/oslopeer):

  oslo_peer.py server URL EXCHANGE TOPIC SERVER
      RPC server with method echo(value) -> value. Prints "READY" once it
      consumes, then serves until stdin closes.
  oslo_peer.py call URL EXCHANGE TOPIC SERVER VALUE_JSON
      Calls echo(value) on TOPIC.SERVER (10 s timeout); prints the result
      as JSON.
  oslo_peer.py declare-all URL EXCHANGE TOPIC SERVER POOL
      Declares everything the rabbit driver declares: an RPC server's three
      queues, a client's reply queue (by calling that server), the
      notification queue TOPIC.info (by notifying) and a pool listener's
      queue POOL. Prints "READY" and a JSON line of the reply queue name,
      then waits until stdin closes.

Failures print "ERROR <what>" and exit 1.
"""
import json
import logging
import sys
import threading

from oslo_config import cfg
import oslo_messaging as om

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


class Echo(object):
    target = om.Target(version='1.0')

    def echo(self, ctxt, value):
        return value


class Seen(object):
    def __init__(self):
        self.event = threading.Event()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.event.set()


def transport(url, exchange, notify=False):
    om.set_transport_defaults(control_exchange=exchange)
    conf = cfg.ConfigOpts()
    conf([])
    # What oslo.messaging's own ConfFixture registers for a client.
    from oslo_messaging._metrics import client as metrics
    conf.register_opts(metrics.oslo_messaging_metrics,
                       group='oslo_messaging_metrics')
    if notify:
        return om.get_notification_transport(conf, url=url)
    return om.get_rpc_transport(conf, url=url)


def start_server(url, exchange, topic, server):
    tr = transport(url, exchange)
    target = om.Target(exchange=exchange, topic=topic, server=server)
    # No executor argument: both versions pick threading where eventlet has
    # not patched the process, and 18.1.0 deprecates the argument.
    srv = om.get_rpc_server(tr, target, [Echo()])
    srv.start()
    return tr, srv


def wait_stdin():
    sys.stdout.flush()
    sys.stdin.read()


def main(argv):
    mode = argv[1]
    if mode == 'server':
        url, exchange, topic, server = argv[2:6]
        tr, srv = start_server(url, exchange, topic, server)
        print('READY')
        wait_stdin()
        srv.stop()
        srv.wait()
        tr.cleanup()
    elif mode == 'call':
        url, exchange, topic, server, value = argv[2:7]
        tr = transport(url, exchange)
        target = om.Target(exchange=exchange, topic=topic, server=server)
        client = om.get_rpc_client(tr, target, timeout=10)
        print(json.dumps(client.call({'who': 'oslo_peer'}, 'echo',
                                     value=json.loads(value))))
        tr.cleanup()
    elif mode == 'declare-all':
        url, exchange, topic, server, pool = argv[2:7]
        tr, srv = start_server(url, exchange, topic, server)
        client = om.get_rpc_client(
            tr, om.Target(exchange=exchange, topic=topic, server=server),
            timeout=10)
        client.call({}, 'echo', value=1)
        reply_q = tr._driver._reply_q

        ntr = transport(url, exchange, notify=True)
        seen = Seen()
        listener = om.get_notification_listener(
            ntr, [om.Target(topic=topic)], [seen], pool=pool)
        listener.start()
        notifier = om.Notifier(ntr, publisher_id='oslo_peer',
                               driver='messaging', topics=[topic])
        notifier.info({}, 'oslo_peer.declared', {})
        if not seen.event.wait(10):
            raise RuntimeError('pool listener got no notification')
        print('READY')
        print(json.dumps({'reply_queue': reply_q}))
        wait_stdin()
        listener.stop()
        listener.wait()
        srv.stop()
        srv.wait()
        ntr.cleanup()
        tr.cleanup()
    else:
        raise SystemExit('unknown mode %r' % mode)


if __name__ == '__main__':
    try:
        main(sys.argv)
    except Exception as exc:  # noqa: BLE001 -- report any failure
        print('ERROR %s: %s' % (type(exc).__name__, exc))
        sys.stdout.flush()
        sys.exit(1)
