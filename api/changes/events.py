"""How a change is written: an SSE event, or an item of a long poll's JSON page."""

from __future__ import annotations

from typing import Any

import orjson

from api.upstream.couch import Change

HEARTBEAT = b': heartbeat\n\n'


def item(change: Change, include_docs: bool, *, seq: bool) -> bytes:
    """The change as JSON: {"seq"?, "id", "rev"[, "deleted"][, "doc"]}, the doc as it is stored."""
    fields: dict[str, Any] = {'seq': change.seq} if seq else {}
    fields.update(id=change.id, rev=change.rev)
    if change.deleted:
        fields['deleted'] = True
    if include_docs and change.doc is not None:
        # Stored JSON has no raw line break inside a string (JSON escapes them): any CR or LF is
        # whitespace between tokens, and one would end an SSE data line.
        fields['doc'] = orjson.Fragment(change.doc.replace(b'\r', b' ').replace(b'\n', b' '))
    return orjson.dumps(fields)


def event(change: Change, include_docs: bool) -> bytes:
    """An SSE `change` event; its id is the seq an EventSource sends back as Last-Event-ID."""
    return b'id: %s\nevent: change\ndata: %s\n\n' % (
        change.seq.encode(),
        item(change, include_docs, seq=False),
    )


def reset(last_seq: str, reason: str) -> bytes:
    """The last event of a stream the server ends: resume from `last_seq`."""
    data = orjson.dumps({'last_seq': last_seq, 'reason': reason})
    return b'id: %s\nevent: reset\ndata: %s\n\n' % (last_seq.encode(), data)


def page(items: list[bytes], last_seq: str) -> bytes:
    """A long poll's answer: {"results": [...], "last_seq": ...}."""
    return b'{"results":[%s],"last_seq":%s}' % (b','.join(items), orjson.dumps(last_seq))
