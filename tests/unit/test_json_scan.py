"""The scanner that slices rows and documents out of the upstream's bytes, without parsing them."""

from __future__ import annotations

import pytest

from api.upstream.json_scan import ArrayItems, BadJson, members, text
from api.upstream.rows import fields

ROWS = [
    b'{"id":"a","value":{"rev":"1-x"},"doc":{"_id":"a","s":"\\ud800 ]}\\" [{"}}',
    b'{"id":"b\\\\","value":{"rev":"2-y"},"doc":{"_id":"b\\\\","d":' + b'[' * 3000 + b']' * 3000 + b'}}',
    b'{"id":"c","value":{"rev":"3-z"},"doc":{"n":123456789012345678901234567890,"e":[],"o":{}}}',
]
BODY = b'{"total_rows":3,"offset":0,"rows":[\r\n' + b',\r\n'.join(ROWS) + b'\r\n],"bookmark":"b"}\n'


def scan(chunks: list[bytes]) -> tuple[list[bytes], dict]:
    scanner = ArrayItems('rows')
    items = [item for chunk in chunks for item in scanner.feed(chunk)]
    return items, scanner.rest()


@pytest.mark.parametrize('size', [1, 2, 3, 7, 64, 1 << 20])
def test_items_come_out_byte_for_byte_however_the_body_is_cut(size):
    items, rest = scan([BODY[at : at + size] for at in range(0, len(BODY), size)])
    assert items == ROWS
    assert rest == {'total_rows': 3, 'offset': 0, 'rows': [], 'bookmark': 'b'}  # the rows went out above


def test_members_of_a_row_are_its_raw_values_and_names_keep_lone_surrogates():
    row = members(ROWS[0])
    assert list(row) == ['id', 'value', 'doc']
    assert row['doc'] == b'{"_id":"a","s":"\\ud800 ]}\\" [{"}'
    assert text(members(row['value'])['rev']) == '1-x'
    assert list(members(b'{"\\udfff":1, "k" : [2]}').items()) == [('\udfff', b'1'), ('k', b'[2]')]
    assert members(ROWS[2])['doc'].endswith(b'"o":{}}')


def test_a_body_cut_short_or_unbalanced_is_refused():
    scanner = ArrayItems('rows')
    list(scanner.feed(BODY[:-20]))
    with pytest.raises(BadJson):
        scanner.rest()
    with pytest.raises(BadJson):
        list(ArrayItems('rows').feed(b'{"rows":[]}]}'))
    with pytest.raises(BadJson):
        members(b'{"a":')


@pytest.mark.parametrize(
    'raw',
    [
        b'{"id":"a\\"b","key":"a\\"b","value":{"rev":"1-x"},"doc":{"_id":"a\\"b","v":[1,{}]}}',  # CouchDB's
        b'{ "key":"a\\"b", "id":"a\\"b", "doc":{"_id":"a\\"b","v":[1,{}]}, "value":{"rev":"1-x"} }',  # other
    ],
)
def test_a_row_reads_the_same_in_the_usual_layout_and_any_other(raw):
    assert fields(raw) == {'id': b'"a\\"b"', 'rev': b'"1-x"', 'doc': b'{"_id":"a\\"b","v":[1,{}]}'}


def test_rows_without_a_document_or_for_a_missing_key():
    assert fields(b'{"id":"a","key":"a","value":{"rev":"1-x"}}') == {'id': b'"a"', 'rev': b'"1-x"'}
    assert fields(b'{"key":"q","error":"not_found"}') == {}


# CouchDB's own layout, which the scanner takes a row at a time (strings with brackets and
# escapes, documents nested up to and beyond what one match covers, rows without a document).
COUCH_ROWS = [
    b'{"id":"a\\"]}","key":"a\\"]}","value":{"rev":"1-x"},"doc":{"_id":"a\\"]}","s":"[{\\\\"}}',
    b'{"id":"b","key":"b","value":{"rev":"2-y"},"doc":{"d":' + b'[' * 7 + b'1' + b']' * 7 + b'}}',
    b'{"id":"c","key":"c","value":{"rev":"3-z"},"doc":{"d":' + b'[{' * 50 + b'}]' * 50 + b'}}',
    b'{"id":"d","key":"d","value":{"rev":"4-w"}}',
    b'{"id":"e","key":"e","value":{"rev":"5-v","deleted":true},"doc":null}',
]


@pytest.mark.parametrize('size', [1, 5, 64, 1 << 20])
def test_rows_in_couchdbs_layout_come_out_byte_for_byte_at_any_depth(size):
    body = b'{"total_rows":5,"offset":0,"rows":[\n' + b',\n'.join(COUCH_ROWS) + b'\n]}'
    items, rest = scan([body[at : at + size] for at in range(0, len(body), size)])
    assert items == COUCH_ROWS
    assert rest == {'total_rows': 5, 'offset': 0, 'rows': []}
