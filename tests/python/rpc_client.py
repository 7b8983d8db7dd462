"""A real oslo.messaging RPC client driven by JSON lines, for the end-to-end tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3, or
18.1.0 from source on PYTHONPATH: internal/oslopeer). Each line on
stdin is one request; each answer is one line on stdout with the same "id".
Requests run concurrently on a thread pool, so answers may come out of order.

Request:
  {"id": 1, "op": "call" | "cast", "method": "echo", "args": {...},
   "context": {...}, "exchange": ..., "topic": ..., "server": ...,
   "namespace": ..., "version": ..., "fanout": false, "timeout": 10,
   "call_monitor_timeout": null, "retry": null}
  {"id": 2, "op": "reply_queue"}
      answers with the name of the client's reply queue as the result
      (null before the first call), so that a test can delete it.
Answer:
  {"id": 1, "ok": true, "result": ...}
  {"id": 1, "ok": false, "error": {"class": "ValueError", "module": "builtins_Remote",
   "message": "first line of str(e)", "args": [...], "exc_type": ..., "value": ...}}

The transport URL comes from the first argument, the control exchange from
the second (default "openstack").
"""

import concurrent.futures
import json
import sys
import threading

from oslo_config import cfg
import oslo_messaging


def describe(exc):
    """The parts of an exception a caller can observe, as JSON."""
    try:
        args = json.loads(json.dumps(list(exc.args)))
    except (TypeError, ValueError):
        args = [repr(a) for a in exc.args]
    return {
        "class": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc).split("\n", 1)[0],
        "args": args,
        "exc_type": getattr(exc, "exc_type", None),
        "value": getattr(exc, "value", None),
    }


def main():
    url = sys.argv[1]
    exchange = sys.argv[2] if len(sys.argv) > 2 else "openstack"
    conf = cfg.CONF
    conf([], project="wasmrpcd-tests")
    oslo_messaging.set_transport_defaults(exchange)
    transport = oslo_messaging.get_rpc_transport(conf, url=url)
    out_lock = threading.Lock()

    def answer(obj):
        line = json.dumps(obj)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def serve(req):
        try:
            run(req)
        except Exception as exc:  # a bad request must not go unanswered
            answer({"id": req.get("id"), "ok": False, "error": describe(exc)})

    def run(req):
        if req["op"] == "reply_queue":
            answer({"id": req["id"], "ok": True,
                    "result": getattr(transport._driver, "_reply_q", None)})
            return
        target = oslo_messaging.Target(
            exchange=req.get("exchange"), topic=req["topic"],
            server=req.get("server"), namespace=req.get("namespace"),
            version=req.get("version"), fanout=req.get("fanout") or False)
        client = oslo_messaging.get_rpc_client(
            transport, target, timeout=req.get("timeout") or 10,
            retry=req.get("retry"),
            call_monitor_timeout=req.get("call_monitor_timeout"))
        ctx = req.get("context") or {}
        args = req.get("args") or {}
        try:
            if req["op"] == "cast":
                client.cast(ctx, req["method"], **args)
                result = None
            else:
                result = client.call(ctx, req["method"], **args)
            answer({"id": req["id"], "ok": True, "result": result})
        except Exception as exc:  # every failure is an observable outcome
            answer({"id": req["id"], "ok": False, "error": describe(exc)})

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        for line in sys.stdin:
            line = line.strip()
            if line:
                pool.submit(serve, json.loads(line))
    transport.cleanup()


if __name__ == "__main__":
    main()
