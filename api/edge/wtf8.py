"""Ids with lone surrogates in URLs: percent-encoded as WTF-8 (UTF-8 that lets a surrogate through).

Other clients can store such ids (JSON's "\\ud800"); UTF-8 cannot encode them, and Falcon decodes
their bytes to U+FFFD. couchgate's next links encode them as WTF-8 (%ED%A0%80) and reads them back
from the raw request, so a listing can page past them and a client can GET them.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import falcon

_LOST = '\ufffd'  # what Falcon makes of bytes that are not UTF-8


def encoded(value: str) -> str:
    """`value` percent-encoded for a URL, lone surrogates included."""
    return quote(value.encode('utf-8', 'surrogatepass'), safe='')


def _decoded(raw: bytes) -> str:
    return raw.decode('utf-8', 'surrogatepass')


def path_id(req: falcon.Request, doc_id: str) -> str:
    """The id of /v1/{db}/docs/{id} as sent (it may hold '/'), when Falcon could not decode it."""
    if _LOST not in doc_id:
        return doc_id
    path = req.env.get('PATH_INFO', '')
    try:
        # PEP 3333: PATH_INFO holds the percent-decoded bytes as latin-1 text.
        return _decoded(path.encode('latin-1').split(b'/', 4)[-1])
    except UnicodeError:
        return doc_id  # not WTF-8 either: the id as Falcon read it (with U+FFFD)


def query_value(req: falcon.Request, name: str, value: str | None) -> str | None:
    """A query parameter as sent, when Falcon could not decode it as UTF-8."""
    if value is None or _LOST not in value:
        return value
    for key, raw in parse_qsl(req.query_string, keep_blank_values=True, encoding='latin-1'):
        if key == name:
            try:
                return _decoded(raw.encode('latin-1'))  # parse_qsl undid the escapes, byte for byte
            except UnicodeError:
                return value
    return value
