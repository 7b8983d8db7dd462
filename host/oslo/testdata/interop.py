#!/usr/bin/python3
"""Reads messages the Go codec wrote and says what oslo.messaging makes of
them, with oslo.messaging's own functions (no broker).

stdin: one JSON object a line, {"kind": "request"|"reply"|"notification",
"body": "<AMQP body>", "allowed": [...]}. stdout: one JSON object a line,
with Python's json.dumps of each part, so that the Go side compares text.
"""

import json
import sys

import kombu.utils.json as kombu_json
from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import common as rpc_common


def describe(exc):
    return {'class': type(exc).__name__, 'module': type(exc).__module__,
            'mro': [c.__module__ + '.' + c.__name__
                    for c in type(exc).__mro__],
            'str': str(exc)}


def request(body):
    # As RabbitMessage and AMQPListener.__call__ read it.
    message = dict(rpc_common.deserialize_msg(kombu_json.loads(body)))
    ctxt = rpc_amqp.unpack_context(message)
    unique_id = message.pop('_unique_id', None)
    return {'ctxt': json.dumps(ctxt.to_dict()), 'msg_id': ctxt.msg_id,
            'reply_q': ctxt.reply_q, 'unique_id': unique_id,
            'method': message.get('method'),
            'namespace': message.get('namespace'),
            'version': message.get('version'),
            'args': json.dumps(message.get('args')),
            'payload': json.dumps(message.get('payload')),
            'priority': message.get('priority'),
            'event_type': message.get('event_type')}


def reply(body, allowed):
    # As ReplyWaiter.__call__ and _process_reply read it.
    data = dict(rpc_common.deserialize_msg(kombu_json.loads(body)))
    out = {'msg_id': data.pop('_msg_id', None)}
    rpc_amqp._MsgIdCache().check_duplicate_message(data)
    if data['failure']:
        exc = rpc_common.deserialize_remote_exception(data['failure'],
                                                      allowed)
        out['raises'] = describe(exc)
    else:
        out['result'] = json.dumps(data.get('result', None))
    out['ending'] = data.get('ending', False)
    return out


def main():
    for line in sys.stdin:
        item = json.loads(line)
        try:
            if item['kind'] == 'reply':
                out = reply(item['body'], item.get('allowed') or [])
            else:
                out = request(item['body'])
        except Exception as exc:
            out = {'error': describe(exc)}
        print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
