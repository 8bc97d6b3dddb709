"""Seeding the demo data (api.cli.demo) into the real server: once, whatever runs before."""

import uuid

from api.cli import demo


def test_seeding_twice_adds_the_documents_once(pouch, make_db, couch_admin):
    db = make_db()
    assert demo.seed(pouch.url, db, count=25) == (25, 25)
    assert demo.seed(pouch.url, db, count=25) == (25, 0)
    rows = couch_admin.get(f'{db}/_all_docs').json()['rows']
    assert [row['id'] for row in rows] == [f'bite-{n:04d}' for n in range(1, 26)]


def test_seeding_creates_a_missing_database(pouch, couch_admin):
    db = 'demo' + uuid.uuid4().hex[:12]
    try:
        assert demo.seed(pouch.url, db, count=3) == (3, 3)
    finally:
        couch_admin.delete(db)


def test_seeding_restores_a_deleted_demo_document(pouch, make_db, couch_admin):
    db = make_db()
    demo.seed(pouch.url, db, count=5)
    rev = couch_admin.get(f'{db}/bite-0002').json()['_rev']
    assert couch_admin.delete(f'{db}/bite-0002', params={'rev': rev}).status_code == 200
    assert demo.seed(pouch.url, db, count=5) == (5, 1)


def test_the_command_prints_one_line_with_the_count(pouch, make_db, capsys):
    db = make_db()
    assert demo.main(['--url', pouch.url, '--db', db, '--count', '3']) == 0
    assert demo.main(['--url', pouch.url, '--db', db, '--count', '3']) == 0
    assert capsys.readouterr().out.splitlines() == [
        f'demo: {db} has 3 documents (added 3)',
        f'demo: {db} has 3 documents (added 0)',
    ]
