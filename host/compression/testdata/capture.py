#!/usr/bin/python3
"""Capture golden compressed bodies from the real kombu.

Writes, next to this script:

  bodies/<name>.json    the bodies, as an oslo.messaging publisher serializes
                        them (an RPC call, a big notification, an empty body)
  kombu/<name>.<codec>  kombu.compression.compress(body, codec) for every
                        method kombu registers here, plus a few bodies kombu's
                        decoders read that its encoders do not write
  cli/<name>.<ext>      the same bodies compressed by the zstd and brotli
                        command-line tools, when they are installed
  manifest.json         every file: its compression header, the body it
                        decompresses to, and whether kombu's decoder reads it;
                        and what kombu maps each option value to

Regenerate with Debian's Python, which has kombu (python3-kombu 5.2.4):

    /usr/bin/python3 host/compression/testdata/capture.py
    go test ./host/compression

kombu registers brotli and zstd only when the Python modules brotli and
zstandard import. Debian has them (python3-brotli, python3-zstandard); to
capture with them without installing them system-wide:

    apt-get download python3-brotli python3-zstandard
    for f in python3-*.deb; do dpkg-deb -x "$f" /tmp/pydeps; done
    PYTHONPATH=/tmp/pydeps/usr/lib/python3/dist-packages \\
        /usr/bin/python3 host/compression/testdata/capture.py

The committed files were captured that way (python3-brotli 1.0.9,
python3-zstandard 0.20.0), with the zstd and brotli tools installed.
Without the modules, the script writes no kombu/*.brotli and kombu/*.zstd
and the Go tests skip what they need. Compressors are deterministic, so a
re-capture with the same versions writes the same bytes.
"""

import bz2
import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys

import kombu
from kombu import compression

HERE = os.path.dirname(os.path.abspath(__file__))


def rpc_body():
    """An RPC call as oslo.messaging's rabbit driver sends it."""
    msg = {
        'method': 'add',
        'args': {'a': 2, 'b': 3, 'name': 'caf\u00e9 \U0001f600'},
        'namespace': None,
        'version': '1.5',
        '_msg_id': '4c3d2f9e8a7b4f6e9d1c0b2a39485766',
        '_reply_q': 'reply_8d1e5b3c2a4f4e6d9b7a1c0e2f3d4b5a',
        '_timeout': None,
        '_unique_id': '9f8e7d6c5b4a49382716a5b4c3d2e1f0',
        '_context_user': 'alice',
        '_context_project_id': 'c0ffee00c0ffee00c0ffee00c0ffee00',
        '_context_request_id': 'req-1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b',
        '_context_roles': ['member', 'reader'],
        '_context_is_admin': False,
    }
    env = {'oslo.version': '2.0', 'oslo.message': json.dumps(msg)}
    return json.dumps(env).encode()


def notification_body():
    """A notification with a payload of about 64 kB, to compress well."""
    instances = [{
        'id': '%08x-1c2d-4e5f-a6b7-%012d' % ((i * 2654435761) % 2**32, i * 7919),
        'name': 'instance-%d' % i,
        'state': 'ACTIVE' if i % 5 else 'SHUTOFF',
        'host': 'compute-%02d' % (i % 17),
        'flavor': {'vcpus': 1 << (i % 4), 'ram': 512 << (i % 5)},
    } for i in range(400)]
    msg = {
        'message_id': '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        'publisher_id': 'compute.host1',
        'event_type': 'compute.instance.list',
        'priority': 'INFO',
        'payload': {'instances': instances},
        'timestamp': '2024-01-02 03:04:05.678901',
    }
    env = {'oslo.version': '2.0', 'oslo.message': json.dumps(msg)}
    return json.dumps(env).encode()


BODIES = {
    'rpc': rpc_body(),
    'notification': notification_body(),
    'empty': b'',
}


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def kombu_reads(data, header):
    """What kombu's consumer makes of data under header, or None."""
    try:
        return compression.decompress(data, header)
    except Exception:  # kombu records any exception as the message's error
        return None


def main():
    for rel in ('kombu', 'cli'):
        shutil.rmtree(os.path.join(HERE, rel), ignore_errors=True)
    cases = []

    def case(rel, data, header, output, source):
        """Record data under header; output names the body it must give."""
        write(rel, data)
        got = kombu_reads(data, header)
        if got is not None and got != BODIES_BY_FILE[output]:
            sys.exit('%s: kombu decompresses it to something else' % rel)
        cases.append({'file': rel, 'header': header, 'output': output,
                      'kombu_reads': got is not None, 'source': source})

    BODIES_BY_FILE = {}
    for name, body in BODIES.items():
        BODIES_BY_FILE['bodies/%s.json' % name] = body
        write('bodies/%s.json' % name, body)
    BODIES_BY_FILE['bodies/rpc_twice.json'] = BODIES['rpc'] * 2
    write('bodies/rpc_twice.json', BODIES['rpc'] * 2)

    # Every method kombu registers, by its first alias.
    names = {'application/x-gzip': 'gzip', 'application/x-bz2': 'bzip2',
             'application/x-lzma': 'lzma', 'application/x-brotli': 'brotli',
             'application/zstd': 'zstd'}
    for mime in compression.encoders():
        for name, body in BODIES.items():
            data, header = compression.compress(body, names[mime])
            assert header == mime
            case('kombu/%s.%s' % (name, names[mime]), data, header,
                 'bodies/%s.json' % name, 'kombu.compression.compress(body, %r)' % names[mime])

    rpc = BODIES['rpc']
    # What kombu's decoders read although its encoders never write it.
    case('kombu/rpc.lzma-alone', lzma.compress(rpc, format=lzma.FORMAT_ALONE),
         'application/x-lzma', 'bodies/rpc.json', 'lzma.compress(body, format=lzma.FORMAT_ALONE)')
    case('kombu/rpc.xz-two-streams-junk', lzma.compress(rpc) + lzma.compress(rpc) + b'junk',
         'application/x-lzma', 'bodies/rpc_twice.json', 'lzma.compress(body) * 2 + junk')
    case('kombu/rpc.xz-preset9e', lzma.compress(rpc, preset=9 | lzma.PRESET_EXTREME),
         'application/x-lzma', 'bodies/rpc.json', 'lzma.compress(body, preset=9|PRESET_EXTREME): 64 MiB dictionary')
    case('kombu/rpc.zlib-junk', compression.compress(rpc, 'zlib')[0] + b'junk',
         'application/x-gzip', 'bodies/rpc.json', 'zlib.compress(body) + junk')
    case('kombu/rpc.bzip2-two-streams', bz2.compress(rpc[:100]) + bz2.compress(rpc[100:]),
         'application/x-bz2', 'bodies/rpc.json', 'bz2.compress(body[:100]) + bz2.compress(body[100:])')
    # A real gzip container, which wasmrpcd reads and kombu does not.
    case('kombu/rpc.gzip-container', gzip.compress(rpc, mtime=0),
         'application/x-gzip', 'bodies/rpc.json', 'gzip.compress(body, mtime=0)')
    # A bomb: 64 MiB of zeros in a few dozen bytes (wasmrpcd cannot write
    # bzip2, so the Go tests cannot make this one themselves).
    bomb = compression.compress(b'\0' * (64 << 20), 'bzip2')[0]
    write('kombu/bomb.bzip2', bomb)
    cases.append({'file': 'kombu/bomb.bzip2', 'header': 'application/x-bz2',
                  'output': None, 'output_size': 64 << 20, 'kombu_reads': True,
                  'source': "kombu.compression.compress(b'\\0' * (64 << 20), 'bzip2')"})

    # The command-line tools, when installed.
    for tool, ext, header, args in (
            ('zstd', 'zst', 'application/zstd', ['-q', '-c']),
            ('zstd', 'zst19', 'application/zstd', ['-q', '-c', '-19']),
            ('zstd', 'zst-stream', 'application/zstd', ['-q', '-c', '--no-content-size']),
            ('brotli', 'br', 'application/x-brotli', ['-c'])):
        if shutil.which(tool) is None:
            print('%s not installed: no cli/*.%s' % (tool, ext), file=sys.stderr)
            continue
        version = subprocess.run([tool, '--version'], capture_output=True, text=True).stdout.strip()
        for name in ('rpc', 'notification'):
            # From a file, not stdin: the tools record the content size of
            # a file, which python-zstandard's decompress requires.
            src = os.path.join(HERE, 'bodies/%s.json' % name)
            data = subprocess.run([tool] + args + [src], capture_output=True, check=True).stdout
            case('cli/%s.%s' % (name, ext), data, header, 'bodies/%s.json' % name,
                 '%s %s FILE (%s)' % (tool, ' '.join(args), version.strip('* ')))

    aliases = {}
    for value in ('gzip', 'zlib', 'bzip2', 'bzip', 'lzma', 'xz', 'brotli', 'zstd', 'zstandard',
                  'application/x-gzip', 'application/x-bz2', 'application/x-lzma',
                  'application/x-brotli', 'application/zstd', 'bz2', 'GZIP', 'gz'):
        try:
            aliases[value] = compression.compress(b'x', value)[1]
        except KeyError:
            aliases[value] = None  # kombu fails to publish with it

    manifest = {
        'kombu': kombu.__version__,
        'python': sys.version.split()[0],
        'registered': compression.encoders(),
        'option_values': aliases,
        'cases': cases,
    }
    write('manifest.json', (json.dumps(manifest, indent=1, ensure_ascii=False) + '\n').encode())
    print('wrote %d cases' % len(cases))


if __name__ == '__main__':
    main()
