"""A prefix key's id range (api/upstream/id_range.py): whatever range a client asks for, what goes
upstream holds exactly the ids of the prefix inside that range, in either server's order."""

from __future__ import annotations

import itertools

import pytest

from api.upstream.cloudant_reads import HIGHEST, HIGHEST_UTF16
from api.upstream.id_range import clamped, query_within, servable

PREFIX = 't7:'
IDS = [
    't7',
    't7:',
    't7:a',
    't7:z',
    't7:\ue000',
    't7:\uffff',
    't7:\U0001f600',
    't7:\U0010ffff',
    't7;',
    't7:\x7f',
    'T7:a',
    's',
    't6:z',
    't8:',
    'u',
    '',
    '\U0001f600',
    't7:\ud800',
]
BOUNDS = [None, '', 'a', 't7', 't7:', 't7:a', 't7:m', 't7:\uffff', 't7:\U0001f600', 't7;', 'z', '\U0010ffff']
ORDERS = {'code points': (HIGHEST, False), 'UTF-16 code units': (HIGHEST_UTF16, True)}


def key(utf16: bool):
    return lambda s: s.encode('utf-16-be' if utf16 else 'utf-32-be', 'surrogatepass')


def in_range(doc_id, start, end, descending, order) -> bool:
    low, high = (end, start) if descending else (start, end)
    return (low is None or order(doc_id) >= order(low)) and (high is None or order(doc_id) <= order(high))


@pytest.mark.parametrize('collation', ORDERS)
@pytest.mark.parametrize('descending', [False, True])
def test_the_clamped_range_holds_exactly_the_prefix_ids_of_the_clients_range(collation, descending):
    highest, utf16 = ORDERS[collation]
    order = key(utf16)
    # Ids the prefix range can hold: not those beyond PREFIX + highest (true of listings without it too).
    ids = [i for i in IDS if not i.startswith(PREFIX) or order(i) <= order(PREFIX + highest)]
    for start, end in itertools.product(BOUNDS, repeat=2):
        keys = clamped(PREFIX, start, end, descending=descending, highest=highest, utf16=utf16)
        wanted = {i for i in ids if i.startswith(PREFIX) and in_range(i, start, end, descending, order)}
        got = set() if keys is None else {i for i in ids if in_range(i, *keys, descending, order)}
        assert got == wanted, (start, end)
        assert keys is None or all(k.startswith(PREFIX) for k in keys)


def test_a_query_is_anded_with_the_prefix_and_always_returns_ids():
    query = query_within(
        {'selector': {'$or': [{'_id': 'x'}]}, 'fields': ['v']}, 'a.b', highest=HIGHEST, utf16=False
    )
    clauses = query['selector']['$and']
    assert clauses[0] == {'_id': {'$gte': 'a.b', '$lte': 'a.b\uffff'}}
    assert clauses[1] == {'_id': {'$regex': '^a\\.b'}} and clauses[2] == {'$or': [{'_id': 'x'}]}
    assert query['fields'] == ['v', '_id']


@pytest.mark.parametrize(
    'start, end, descending, parts',
    [
        ('a', '\U0010ffff', False, [('a', '\U0010ffff')]),  # both orders agree: one request
        (None, '\U0010ffff', False, [(None, '\U0010ffff')]),
        ('\uff21-1', '\U0010ffff', False, [('\uff21-1', '\uffff' * 4), ('\U00010000', '\U0010ffff')]),
        (
            't7:\ue000',
            't7:\U0010ffff',
            False,
            [('t7:\ue000', 't7:' + '\uffff' * 4), ('t7:\U00010000', 't7:\U0010ffff')],
        ),
        ('\U0001f600', '\ue000', True, [('\U0001f600', '\U00010000'), ('\uffff' * 4, '\ue000')]),
        ('\U0001f600', None, True, [('\U0001f600', None)]),
        ('t7:', 't7:x', False, [('t7:', 't7:x')]),  # a prefix of the other
    ],
)
def test_a_range_pouchdb_on_disk_would_answer_empty_is_asked_in_two_parts(start, end, descending, parts):
    assert servable(start, end, descending=descending) == parts
    order = lambda s: s.encode('utf-16-be', 'surrogatepass')  # noqa: E731 (JavaScript's order)
    for low, high in parts:
        if low is not None and high is not None:
            assert (order(low) >= order(high)) if descending else (order(low) <= order(high))


def test_ibm_cloudant_hosts_are_known_to_order_ids_by_code_point_without_asking():
    from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
    from ibmcloudant import CloudantV1

    from api.upstream.cloudant_couch import CloudantCouch

    def no_call(request):
        raise AssertionError('no upstream request')

    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url('https://acct-bluemix.cloudantnosqldb.appdomain.cloud')
    assert CloudantCouch(client, no_call)._highest_id() == HIGHEST
