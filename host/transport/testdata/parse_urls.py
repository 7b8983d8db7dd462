"""Parses transport URLs with oslo.messaging's own TransportURL.parse.

Reads a JSON list of URL strings on stdin and writes a JSON list of the
parsed fields (or the error) on stdout. host/transport's URL tests compare
ParseURL against this output (testdata/urls.golden.json), and the output of
each reference peer (internal/oslopeer) against the golden file.
"""
import json
import logging
import sys

from oslo_config import cfg
import oslo_messaging

logging.disable(logging.CRITICAL)


def parse(raw):
    try:
        u = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), raw)
    except Exception as exc:  # noqa: BLE001 -- any refusal counts
        return {"url": raw, "ok": False, "error": type(exc).__name__}
    return {
        "url": raw,
        "ok": True,
        "scheme": u.transport,
        "virtual_host": u.virtual_host or "",
        "hosts": [
            {
                "hostname": h.hostname or "",
                "port": h.port or 0,
                "username": h.username or "",
                "password": h.password or "",
            }
            for h in u.hosts
        ],
        "query": u.query,
        "str": str(u),
    }


json.dump([parse(u) for u in json.load(sys.stdin)], sys.stdout, indent=1,
          ensure_ascii=False)
sys.stdout.write("\n")
