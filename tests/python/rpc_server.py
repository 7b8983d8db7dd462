"""A real oslo.messaging RPC server serving the testkit reference endpoint.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3, or
18.1.0 from source on PYTHONPATH: internal/oslopeer):

    rpc_server.py URL EXCHANGE TOPIC SERVER [--executors N] [--version V] [--log-calls]

It serves testkit_endpoint.TestkitEndpoint on Target(topic, server) of
control exchange EXCHANGE with the threading executor, prints "ready" on
stdout once it consumes, and runs until stdin closes or SIGTERM, then stops
and waits for the calls in flight. Each call it serves is counted; the
count is printed as "served N" at exit. With --log-calls, each call also
prints a line "call METHOD KWARGS_JSON" (keys sorted) when it starts.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oslo_config import cfg  # noqa: E402
import oslo_messaging  # noqa: E402

import testkit_endpoint  # noqa: E402


class Counting(object):
    """Wraps an endpoint and counts the calls of its methods."""

    def __init__(self, endpoint, log_calls=False):
        self._endpoint = endpoint
        self._log_calls = log_calls
        self._lock = threading.Lock()
        self.served = 0
        self.target = endpoint.target

    def __getattr__(self, name):
        attr = getattr(self._endpoint, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def counted(*args, **kwargs):
            with self._lock:
                self.served += 1
                if self._log_calls:
                    print("call %s %s" % (name, json.dumps(kwargs, sort_keys=True)), flush=True)
            return attr(*args, **kwargs)
        counted.__qualname__ = getattr(attr, "__qualname__", name)
        return counted


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("exchange")
    p.add_argument("topic")
    p.add_argument("server")
    p.add_argument("--executors", type=int, default=64)
    p.add_argument("--version", default=testkit_endpoint.VERSION)
    p.add_argument("--log-calls", action="store_true")
    a = p.parse_args()

    conf = cfg.CONF
    conf([], project="wasmrpcd-tests")
    oslo_messaging.set_transport_defaults(a.exchange)
    transport = oslo_messaging.get_rpc_transport(conf, url=a.url)
    target = oslo_messaging.Target(topic=a.topic, server=a.server)
    endpoint = Counting(testkit_endpoint.TestkitEndpoint(version=a.version), a.log_calls)
    # No executor argument: both versions pick threading where eventlet has
    # not patched the process, and 18.1.0 deprecates the argument.
    server = oslo_messaging.get_rpc_server(transport, target, [endpoint])
    # The server registers the executor options; its pool is made at start.
    conf.set_override("executor_thread_pool_size", a.executors)
    server.start()
    print("ready", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.stop()
    server.wait()
    transport.cleanup()
    print("served %d" % endpoint.served, flush=True)


if __name__ == "__main__":
    main()
