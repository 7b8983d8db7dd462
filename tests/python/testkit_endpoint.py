"""modules/testkit as a Python oslo.messaging endpoint: the reference the
wasm module is compared with.

The same methods with the same behaviour as modules/testkit/testkit.wasm
(shared/DESIGN.md), so that one set of client cases can run against a
Python RPC server built from this class and against wasmrpcd serving the
module, and expect the same results and the same remote errors (class,
module, message, args).

    endpoint = TestkitEndpoint()                 # version 1.5, namespace None
    server = oslo_messaging.get_rpc_server(transport, target, [endpoint], ...)

    notifier = oslo_messaging.Notifier(transport, driver="messagingv2")
    listener = oslo_messaging.get_notification_listener(
        transport, targets, [TestkitNotificationEndpoint(notifier)], ...)

Where the wasm module's behaviour comes from its sandbox, this class
reproduces it instead of doing what Python on the host would:

- read_file raises OSError(EBADF) as the guest, which has no preopened
  directory, gets from WASI, rather than reading the host's file;
- the argument type checks the Go SDK makes for typed parameters (key,
  kind, message and path are str, mb is int, ms an int or float) are
  made here by hand, with the same messages;
- every method's __qualname__ is its bare name, so that argument errors
  read "echo() missing 1 required positional argument: 'value'" as the
  module's do (the module cannot know a Python class name).

Known differences: alloc beyond the memory limit traps the wasm instance
(the caller gets the host's error) where Python raises MemoryError; a sum of
integers outside the 64-bit range is a float in the module (the ABI's
numbers are 64-bit) and an exact int here; when a call has several unknown
keyword arguments, the module reports the first in sorted order, Python the
first in the caller's order.
"""

import builtins
import errno
import os
import time

import oslo_messaging

VERSION = "1.5"


def _check(fn, name, value, types, label):
    """Raise the TypeError the Go SDK raises for an argument of the wrong type."""
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        raise TypeError("%s() argument '%s' must be %s, not %s" % (fn, name, label, type(value).__name__))


def _exception(kind, message):
    """The exception fail raises: a built-in class by name, or a new one."""
    cls = getattr(builtins, kind, None)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        if issubclass(cls, Exception):
            return cls(message)
        # SystemExit, KeyboardInterrupt, … would stop the server rather than
        # reach the caller: raise an Exception of the same name and module.
        return type(kind, (Exception,), {"__module__": "builtins"})(message)
    return type(kind, (Exception,), {"__module__": "testkit"})(message)


class TestkitEndpoint(object):
    """The RPC endpoint: namespace None, version 1.5 (or the given one)."""

    def __init__(self, version=VERSION):
        self.target = oslo_messaging.Target(version=version)

    def echo(self, ctxt, value):
        return value

    def add(self, ctxt, a, b):
        return a + b

    def context(self, ctxt, key):
        _check("context", "key", key, (str,), "str")
        return ctxt.get(key)

    def fail(self, ctxt, kind, message):
        _check("fail", "kind", kind, (str,), "str")
        _check("fail", "message", message, (str,), "str")
        if kind == "":
            raise ValueError("fail() argument 'kind' must not be empty")
        raise _exception(kind, message)

    def spin(self, ctxt, ms):
        _check("spin", "ms", ms, (int, float), "int or float")
        deadline = time.monotonic() + ms / 1000.0
        while time.monotonic() < deadline:
            pass
        return ms

    def alloc(self, ctxt, mb):
        _check("alloc", "mb", mb, (int,), "int")
        if mb < 0:
            raise ValueError("alloc() argument 'mb' must not be negative")
        buf = bytearray(mb << 20)
        for i in range(0, len(buf), 4096):
            buf[i] = i & 0xFF
        return mb

    def read_file(self, ctxt, path):
        _check("read_file", "path", path, (str,), "str")
        raise OSError(errno.EBADF, os.strerror(errno.EBADF), path)

    def _private(self, ctxt):
        return "private"


class TestkitNotificationEndpoint(object):
    """The notification endpoint: on an info notification whose event type
    starts with "testkit.", emits "testkit.seen" from publisher "testkit"
    with the same payload on topic testkit_seen."""

    def __init__(self, notifier):
        self.notifier = oslo_messaging.Notifier(notifier.transport, publisher_id="testkit", driver="messagingv2", topics=["testkit_seen"])

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        if event_type.startswith("testkit."):
            self.notifier.info(ctxt, "testkit.seen", payload)
        return oslo_messaging.NotificationResult.HANDLED


for _cls in (TestkitEndpoint, TestkitNotificationEndpoint):
    for _name, _fn in list(vars(_cls).items()):
        if callable(_fn) and not _name.startswith("__"):
            _fn.__qualname__ = _name
