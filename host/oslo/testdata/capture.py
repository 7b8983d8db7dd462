#!/usr/bin/python3
"""Capture golden wire messages from the real oslo.messaging.

Runs a real oslo.messaging RPC client, RPC server and notifier against the
RabbitMQ broker at AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/) and
records the raw AMQP messages they publish, read with kombu from queues this
script declares and binds beforehand. Each case becomes one JSON file in this
folder (see README.md for the format). Every exchange and queue name carries a
random suffix; the script deletes what it and oslo.messaging declared.

Run it with Debian's Python, which has oslo.messaging:

    /usr/bin/python3 host/oslo/testdata/capture.py [OUT_DIR]

The files go to OUT_DIR, by default this folder. host/oslo's
TestCaptureMatchesGolden runs it for each reference peer (internal/oslopeer:
Debian's 14.0.3, and 18.1.0 from source on PYTHONPATH) into a temporary
folder and compares what it wrote with the files here.
"""

import base64
import datetime
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import kombu
from oslo_config import cfg
from oslo_context import context as oslo_context
import oslo_messaging
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else HERE
AMQP_URL = os.environ.get('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672/')
SUFFIX = uuid.uuid4().hex[:10]
EXCHANGE = 'oslo_capture_' + SUFFIX
TOPIC = 'capture_' + SUFFIX
NOTIFY_TOPIC = 'capture_notif_' + SUFFIX
SERVER = 'host-a'


def rabbit_url(url):
    """oslo.messaging's transport URL for the AMQP URL."""
    return 'rabbit://' + url.split('://', 1)[1]


def kombu_url(url):
    # kombu reads the vhost from the path: "/" is the default vhost "//".
    return url if not url.endswith(':5672/') else url + '/'


class QuotaExceeded(Exception):
    """An application exception with keyword arguments, as nova's have."""

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message or 'Quota exceeded for %(resource)s' % kwargs)


class Endpoint(object):
    target = oslo_messaging.Target(version='1.5')

    def echo(self, ctxt, value):
        return value

    def none(self, ctxt):
        return None

    def context(self, ctxt):
        return ctxt

    def fail_builtin(self, ctxt):
        raise ValueError('size must be > 0', 42)

    def fail_custom(self, ctxt):
        raise QuotaExceeded(resource='cores', used=12, limit=10)

    def fail_oslo(self, ctxt):
        raise oslo_messaging.MessagingTimeout('inner call timed out')

    def fail_expected(self, ctxt):
        try:
            raise KeyError('missing-key')
        except KeyError:
            raise rpc_dispatcher.ExpectedException()

    def slow(self, ctxt, seconds):
        time.sleep(seconds)
        return seconds

    def _private(self, ctxt):
        return 'never'


class NamespacedEndpoint(object):
    target = oslo_messaging.Target(namespace='volumes', version='2.3')

    def hello(self, ctxt, name):
        return 'hello ' + name


class Recorder(object):
    """Declares capture queues and reads raw messages from them."""

    def __init__(self):
        self.conn = kombu.Connection(kombu_url(AMQP_URL))
        self.channel = self.conn.channel()
        self.exchange = kombu.Exchange(EXCHANGE, type='topic', durable=False,
                                       auto_delete=False)
        self.fanout = kombu.Exchange(TOPIC + '_fanout', type='fanout',
                                     durable=False, auto_delete=True)
        self.requests = kombu.Queue(
            'capture_requests_' + SUFFIX, durable=False, auto_delete=False,
            bindings=[kombu.binding(self.exchange, routing_key=TOPIC),
                      kombu.binding(self.exchange, routing_key=TOPIC + '.*')])
        self.notifications = kombu.Queue(
            'capture_notifications_' + SUFFIX, exchange=self.exchange,
            routing_key=NOTIFY_TOPIC + '.*', durable=False, auto_delete=False)
        self.fanout_q = kombu.Queue('capture_fanout_' + SUFFIX,
                                    exchange=self.fanout, routing_key='',
                                    durable=False, auto_delete=False)
        self.replies = kombu.Queue('reply_capture_' + SUFFIX, durable=False,
                                   auto_delete=False)
        self.queues = [self.requests, self.notifications, self.fanout_q,
                       self.replies]
        for q in self.queues:
            q(self.channel).declare()

    def get(self, queue, what, wait=10.0):
        deadline = time.time() + wait
        while time.time() < deadline:
            msg = queue(self.channel).get(no_ack=True)
            if msg is not None:
                return msg
            time.sleep(0.02)
        raise RuntimeError('no message on %s for %s' % (queue.name, what))

    def drain(self, queue):
        while queue(self.channel).get(no_ack=True) is not None:
            pass

    def publish(self, body, routing_key):
        """Publishes a request as oslo's topic_send does."""
        producer = kombu.Producer(self.channel)
        producer.publish(body, exchange=self.exchange,
                         routing_key=routing_key)

    def close(self):
        for q in self.queues:
            try:
                q(self.channel).delete()
            except Exception as exc:
                print('cleanup: %s: %s' % (q.name, exc), file=sys.stderr)
        self.conn.close()


def raw(msg):
    """The raw AMQP message: properties, delivery info and body."""
    props = {}
    for k, v in sorted(msg.properties.items()):
        if k == 'application_headers' and not v:
            continue
        props[k] = v
    if msg.headers:
        props['headers'] = msg.headers
    body = msg.body
    if isinstance(body, bytes):
        try:
            body = body.decode('utf-8')
        except UnicodeDecodeError:
            body = {'base64': base64.b64encode(msg.body).decode('ascii')}
    return {
        'exchange': msg.delivery_info.get('exchange', ''),
        'routing_key': msg.delivery_info.get('routing_key', ''),
        'properties': props,
        'body': body,
    }


def python_request_view(body):
    """What an oslo.messaging server makes of a request (or notification)
    body; "json" holds Python's own json.dumps of each part, for exact
    comparison."""
    from oslo_messaging._drivers import amqp as rpc_amqp
    message = dict(rpc_common.deserialize_msg(json.loads(body)))
    sent_ctxt = {k[len('_context_'):]: v for k, v in message.items()
                 if k.startswith('_context_')}
    timeout = message.get('_timeout')
    ctxt = rpc_amqp.unpack_context(message)
    unique_id = message.pop('_unique_id', None)
    view = {'ctxt': ctxt.to_dict(), 'msg_id': ctxt.msg_id,
            'reply_q': ctxt.reply_q, 'unique_id': unique_id,
            'message': message}
    view['json'] = {'ctxt': json.dumps(ctxt.to_dict()),
                    'sent_ctxt': json.dumps(sent_ctxt),
                    'timeout': json.dumps(timeout)}
    for key in ('args', 'payload'):
        if key in message:
            view['json'][key] = json.dumps(message[key])
    return view


# Modules a client may list in allowed_remote_exmods to rebuild the
# dispatcher's and oslo.messaging's own exceptions.
ALLOWED = ['oslo_messaging.rpc.dispatcher', 'oslo_messaging.exceptions',
           '__main__']


def python_reply_view(body):
    """What an oslo.messaging client makes of a reply body: with the default
    allowed_remote_exmods (none) and with ALLOWED."""
    data = dict(rpc_common.deserialize_msg(json.loads(body)))
    view = {'msg_id': data.pop('_msg_id', None),
            'unique_id': data.pop('_unique_id', None),
            'ending': data.get('ending', False)}
    if data['failure']:
        view['failure'] = json.loads(data['failure'])
        view['failure_json'] = data['failure']
        view['raises'] = describe_exception(
            rpc_common.deserialize_remote_exception(data['failure'], []))
        view['raises_allowed'] = describe_exception(
            rpc_common.deserialize_remote_exception(data['failure'],
                                                    ALLOWED))
    else:
        view['result'] = data.get('result')
        view['result_json'] = json.dumps(data.get('result'))
    return view


def describe_exception(exc):
    mro = [c.__module__ + '.' + c.__name__ for c in type(exc).__mro__]
    out = {'class': type(exc).__name__, 'module': type(exc).__module__,
           'mro': mro, 'args': [a if isinstance(a, (str, int, float))
                                else repr(a) for a in exc.args],
           'str_first_line': str(exc).split('\n', 1)[0]}
    if isinstance(exc, oslo_messaging.RemoteError):
        out['exc_type'] = exc.exc_type
        out['value'] = exc.value
    return out


def write(name, description, record, produced_by, python_view=None):
    doc = {'case': name, 'description': description,
           'produced_by': produced_by}
    doc.update(record)
    if python_view is not None:
        doc['python'] = python_view
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write('\n')
    print('wrote', os.path.relpath(path, OUT))


def oslo_version():
    """The version of the oslo.messaging imported. One run from its source
    tree (oslo.messaging-X.Y.Z) reports the version of Debian's egg-info,
    so the tree's name tells it."""
    tree = os.path.basename(os.path.dirname(os.path.dirname(
        os.path.abspath(oslo_messaging.__file__))))
    if tree.startswith('oslo.messaging-'):
        return tree[len('oslo.messaging-'):]
    return importlib.metadata.version('oslo.messaging')


VERSIONS = 'oslo.messaging %s, kombu %s, Python %s' % (
    oslo_version(), kombu.__version__, sys.version.split()[0])


# Arguments a Python client can send, with what jsonutils makes of them.
NESTED_ARGS = {
    'value': {
        'name': 'vol-ünïcødé ✓ 😀',
        'ключ': ['значение', {'深い': [1, [2, [3, {'x': None}]]]}],
        'ints': [0, -1, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63,
                 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63 - 1, -2 ** 64,
                 -2 ** 64 - 1, 2 ** 100, -10 ** 30],
        'floats': [0.0, -0.0, 1.0, 0.1, 1.5e300, 5e-324, 1e16, 1e15,
                   1e-05, 0.0001, 123456789.123, -2.5e-10,
                   float('nan'), float('inf'), float('-inf')],
        'flags': [True, False, None],
        'escapes': 'quote" backslash\\ slash/ \b\f\n\r\t \x00\x1f\x7f \u2028',
        'empty': {'list': [], 'map': {}, 'string': ''},
    },
}

# Python values JSON has no type for, and what oslo's jsonutils sends.
PYTHON_TYPES_ARGS = {
    'value': {
        'bytes': b'raw-bytes',
        'tuple': (1, 'two'),
        'set': {3},
        'datetime': datetime.datetime(2024, 5, 6, 7, 8, 9, 123456),
        'uuid': uuid.UUID('12345678-1234-5678-1234-567812345678'),
        'int_keys': {1: 'one', 2.5: 'two and a half', None: 'none',
                     False: 'false'},
    },
}


def rich_context():
    ctx = oslo_context.RequestContext(
        user_id='user-1', project_id='project-ü', domain_id='default',
        is_admin=True, request_id='req-0a1b2c3d-0000-4000-8000-000000000001',
        roles=['admin', 'member'], global_request_id=None,
        user_name='Jürgen', read_only=False, show_deleted=False)
    return ctx


def write_python_json_cases():
    """Python's own json behaviour, without the broker: float repr for
    random doubles, and json.dumps(json.loads(text)) for edge cases."""
    import random
    import struct
    rng = random.Random(20240506)
    floats = []
    specials = [0.0, -0.0, 1.0, 0.1, 1e16, 1e15, 9999999999999998.0, 1e-4,
                1e-5, 0.00012345, 123456789012345678.0, 1.5e300, 5e-324,
                2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3,
                2 / 3, 100.0, 1e22, 1e21, 4.35, 0.3, 65504.0, 6.1e-05,
                float('inf'), float('-inf')]
    for f in specials:
        floats.append([struct.pack('>d', f).hex(), json.dumps(f)])
    while len(floats) < 3000:
        bits = rng.getrandbits(64)
        f = struct.unpack('>d', bits.to_bytes(8, 'big'))[0]
        if f != f:
            continue
        floats.append([bits.to_bytes(8, 'big').hex(), json.dumps(f)])
    for _ in range(1000):  # short decimals, as people write them
        f = round(rng.uniform(-1e6, 1e6), rng.randint(0, 6))
        floats.append([struct.pack('>d', f).hex(), json.dumps(f)])
    texts = [
        '0', '-0', '1', '-1', '1.0', '-0.0', '1E400', '-1e400', '1e-400',
        '0.0e0', '1E+2', '12345678901234567890', '-18446744073709551616',
        '-18446744073709551617', '9' * 400, 'NaN', 'Infinity', '-Infinity',
        '-NaN', '+1', '.5', '1.', '1e', '01', '-', '--1', '0x10', 'tru',
        'true', 'false', 'null', 'nul', ' \t\n\r1 ', '\u00a01', '[1,2',
        '[1,]', '[,1]', '{"a":1,}', '{"a" 1}', '{1:2}', '{"a":1,"a":2}',
        '{"a":1,"b":2,"a":3}', '[]', '{}', '[[[]]]', '"\\u00e9"',
        '"\\ud83d\\ude00"', '"\\u0000"', '"\x01"', '"\x7f"', '"\t"',
        '"a\\qb"', '"\\/"', '"unterminated', '"\\u12"', '"é"',
        '"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"',
        '{"\\u0061":1}', '[1] [2]', '1 2', '',
    ]
    cases = []
    for text in texts:
        try:
            out = json.dumps(json.loads(text))
            cases.append({'input': text, 'output': out})
        except (ValueError, RecursionError) as exc:
            cases.append({'input': text, 'error': type(exc).__name__})
    doc = {'produced_by': 'Python %s json module' % sys.version.split()[0],
           'description': 'float repr of doubles (big-endian hex bits) '
           'and json.dumps(json.loads(input)) of edge cases',
           'floats': floats, 'cases': cases}
    path = os.path.join(OUT, 'python_json.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, indent=0, ensure_ascii=True)
        f.write('\n')
    print('wrote', os.path.basename(path))


def main():
    write_python_json_cases()
    conf = cfg.CONF  # the metrics options live on the global config
    conf([], project='capture')
    from oslo_messaging import transport as msg_transport
    conf.register_opts(msg_transport._transport_opts)
    conf.set_override('control_exchange', EXCHANGE)

    rec = Recorder()
    transport = oslo_messaging.get_rpc_transport(conf, url=rabbit_url(AMQP_URL))
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=TOPIC, server=SERVER),
        [Endpoint(), NamespacedEndpoint()])  # threading, in both versions
    server.start()
    client = oslo_messaging.get_rpc_client(
        transport, oslo_messaging.Target(topic=TOPIC), timeout=30)
    produced = 'real %s RPCClient' % VERSIONS
    cleanup_queues = [TOPIC, TOPIC + '.' + SERVER]
    try:
        time.sleep(0.5)  # let the server's consumers attach
        rec.drain(rec.requests)
        requests = {}

        def capture_call(name, desc, cctxt, method, ctxt, args):
            """Real client call against the real server; the request copy
            goes to the capture queue bound with '#'."""
            try:
                result = cctxt.call(ctxt, method, **args)
                client_view = {'returns': result}
            except Exception as exc:
                client_view = {'raises': describe_exception(exc)}
            msg = rec.get(rec.requests, name)
            record = raw(msg)
            view = python_request_view(record['body'])
            view['client'] = client_view
            write(name, desc, record, produced + '.call', view)
            requests[name] = record

        capture_call('request_call_nested',
                     'call of echo with nested unicode arguments, large '
                     'integers, floats with NaN and Infinity, and a '
                     'RequestContext; timeout 30 s, call monitor 15 s',
                     client.prepare(call_monitor_timeout=15), 'echo',
                     rich_context(), NESTED_ARGS)
        capture_call('request_call_python_types',
                     'call of echo with Python values JSON lacks: bytes, '
                     'tuple, set, datetime, UUID, non-string keys',
                     client, 'echo', {'user': 'u'}, PYTHON_TYPES_ARGS)
        capture_call('request_call_server_version',
                     'call to a named server with namespace and version, '
                     'plain dict context',
                     client.prepare(server=SERVER, namespace='volumes',
                                    version='2.1', timeout=7),
                     'hello', {'user_id': 'u1', 'tenant': 't1',
                               'nested': {'a': [1, 2]}},
                     {'name': 'world'})
        capture_call('request_call_context', 'call that returns the context '
                     'the endpoint sees (with call monitor 4 s)',
                     client.prepare(call_monitor_timeout=4), 'context',
                     {'user_id': 'u1', 'msg_id': 'shadowed',
                      'client_timeout': 'shadowed', 'ключ': 'значение'}, {})
        capture_call('request_call_empty_context', 'call with an empty '
                     'context and no arguments', client, 'none', {}, {})

        for name, method, args, expect_desc in [
                ('client_view_no_such_method', 'no_such', {}, 'NoSuchMethod'),
                ('client_view_private', '_private', {}, 'private method'),
                ('client_view_unsupported_version', 'echo', {'value': 1},
                 'UnsupportedVersion'),
                ('client_view_type_error_missing', 'echo', {}, 'missing arg'),
                ('client_view_type_error_unexpected', 'echo',
                 {'value': 1, 'x': 2}, 'unexpected kwarg'),
                ('client_view_fail_builtin', 'fail_builtin', {}, 'ValueError'),
                ('client_view_fail_custom', 'fail_custom', {}, 'custom class'),
                ('client_view_fail_oslo', 'fail_oslo', {},
                 'oslo_messaging.exceptions.MessagingTimeout'),
                ('client_view_fail_expected', 'fail_expected', {},
                 'ExpectedException wrapping KeyError')]:
            cctxt = client
            if name == 'client_view_unsupported_version':
                cctxt = client.prepare(version='3.0')
            capture_call(name, 'call whose endpoint fails: ' + expect_desc +
                         '; python.client shows what the caller raises '
                         '(default allowed_remote_exmods)', cctxt, method,
                         {}, args)

        # Casts: plain, to a server, fanout.
        def capture_cast(name, desc, cctxt, method, ctxt, args, queue):
            cctxt.cast(ctxt, method, **args)
            msg = rec.get(queue, name)
            record = raw(msg)
            write(name, desc, record, produced + '.cast',
                  python_request_view(record['body']))

        capture_cast('request_cast', 'cast of echo with a RequestContext',
                     client, 'echo', rich_context(), {'value': [1, 'two']},
                     rec.requests)
        capture_cast('request_cast_server_namespace',
                     'cast to a named server with namespace and version',
                     client.prepare(server=SERVER, namespace='volumes',
                                    version='2.0'),
                     'hello', {'user_id': 'u1'}, {'name': 'cast'},
                     rec.requests)
        capture_cast('request_cast_fanout', 'fanout cast',
                     client.prepare(fanout=True), 'echo',
                     {'user_id': 'u1'}, {'value': 'to all'}, rec.fanout_q)
        time.sleep(0.3)  # let the server consume the casts

        # Replies from the real server to a reply queue of ours: replay a
        # captured call request with our queue as _reply_q.

        def capture_reply(name, desc, method, args, ctxt=None,
                          namespace=None, version=None, timeout=None,
                          count=1):
            msg = {'method': method, 'args': args}
            if namespace is not None:
                msg['namespace'] = namespace
            if version is not None:
                msg['version'] = version
            msg['_msg_id'] = uuid.uuid4().hex
            msg['_reply_q'] = rec.replies.name
            msg['_timeout'] = timeout
            msg['_unique_id'] = uuid.uuid4().hex
            for k, v in (ctxt or {}).items():
                msg['_context_' + k] = v
            rec.publish(rpc_common.serialize_msg(msg), TOPIC)
            for i in range(count):
                reply = rec.get(rec.replies, name, wait=15)
                record = raw(reply)
                view = python_reply_view(record['body'])
                case = name if count == 1 else '%s_%d' % (name, i + 1)
                write(case, desc, record,
                      'real %s RPC server reply' % VERSIONS, view)

        capture_reply('reply_result', 'reply of echo with nested values',
                      'echo', NESTED_ARGS)
        capture_reply('reply_none', 'reply of a method returning None',
                      'none', {})
        capture_reply('reply_context', 'reply of a method returning the '
                      'context it sees (call monitor 30 s)', 'context', {},
                      ctxt={'user_id': 'u1', 'roles': ['a']}, timeout=30)
        capture_reply('reply_failure_builtin', 'ValueError from the endpoint',
                      'fail_builtin', {})
        capture_reply('reply_failure_custom', 'application exception with '
                      'kwargs, defined in the server\'s __main__',
                      'fail_custom', {})
        capture_reply('reply_failure_oslo', 'oslo_messaging.MessagingTimeout '
                      'raised by the endpoint', 'fail_oslo', {})
        capture_reply('reply_failure_expected', 'ExpectedException wrapping '
                      'KeyError', 'fail_expected', {})
        capture_reply('reply_no_such_method', 'NoSuchMethod', 'no_such', {})
        capture_reply('reply_private_method', 'a private method: '
                      'NoSuchMethod', '_private', {})
        capture_reply('reply_unsupported_version', 'UnsupportedVersion',
                      'echo', {'value': 1}, version='1.9')
        capture_reply('reply_unsupported_namespace', 'unknown namespace: '
                      'UnsupportedVersion', 'echo', {'value': 1},
                      namespace='nope', version='1.0')
        capture_reply('reply_type_error_missing', 'missing argument: '
                      'TypeError', 'echo', {})
        capture_reply('reply_type_error_unexpected', 'unexpected keyword '
                      'argument: TypeError', 'echo', {'value': 1, 'x': 2})
        capture_reply('reply_heartbeat', 'slow method with _timeout 2: '
                      'one call-monitor heartbeat (ending false), then the '
                      'result', 'slow', {'seconds': 1.6}, timeout=2, count=2)

        # Notifications: messagingv2 for every priority, and messaging (v1).
        ntransport = oslo_messaging.get_notification_transport(
            conf, url=rabbit_url(AMQP_URL))
        for driver, tag in [('messagingv2', 'v2'), ('messaging', 'v1')]:
            notifier = oslo_messaging.Notifier(
                ntransport, publisher_id='compute.host-a', driver=driver,
                topics=[NOTIFY_TOPIC])
            prios = ['audit', 'debug', 'info', 'warn', 'error', 'critical',
                     'sample'] if tag == 'v2' else ['info']
            for prio in prios:
                payload = {'instance_id': 'i-1', 'size': 2 ** 40,
                           'ratio': 0.25, 'name': 'ünï', 'tags': ['a']}
                getattr(notifier, prio)(rich_context(),
                                        'compute.instance.' + prio, payload)
                msg = rec.get(rec.notifications, prio)
                record = raw(msg)
                view = python_request_view(record['body'])
                write('notify_%s_%s' % (tag, prio),
                      '%s notification, priority %s' % (driver, prio),
                      record, 'real %s Notifier(driver=%s)' % (
                          VERSIONS, driver), view)
                cleanup_queues.append('%s.%s' % (NOTIFY_TOPIC, prio))
        ntransport.cleanup()
    finally:
        server.stop()
        server.wait()
        reply_q = transport._driver._reply_q
        transport.cleanup()
        if reply_q:
            cleanup_queues.append(reply_q)
        ch = rec.channel
        for q in sorted(set(cleanup_queues)):
            try:
                ch.queue_delete(q)
            except Exception as exc:
                print('cleanup: queue %s: %s' % (q, exc), file=sys.stderr)
                ch = rec.conn.channel()
        # The server's fanout queue has a random name: find it by prefix.
        try:
            out = subprocess.run(['rabbitmqctl', '-q', 'list_queues', 'name'],
                                 capture_output=True, text=True, timeout=60)
            for q in out.stdout.split():
                if q.startswith(TOPIC + '_fanout_'):
                    ch.queue_delete(q)
        except Exception as exc:
            print('cleanup: fanout queues: %s' % exc, file=sys.stderr)
        rec.close()
        ch = rec.conn.channel() if rec.conn.connected else None
        with kombu.Connection(kombu_url(AMQP_URL)) as c:
            ch = c.channel()
            for ex in (EXCHANGE, TOPIC + '_fanout'):
                try:
                    ch.exchange_delete(ex)
                except Exception:
                    ch = c.channel()


if __name__ == '__main__':
    main()
