"""Live changes in a real browser (issue 24): headless Chromium's own EventSource, on a page of another
origin, through the Procfile's web line over the local server; the server stopped and started again
under it, as a deploy does, and the page catching up by itself with Last-Event-ID."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlencode

import requests

from tests.support.browser import chromium, serving_page
from tests.support.gunicorn_process import WebProcess
from tests.support.poll import wait_for

KEY = 'browser-key-0123456789abcdef'
DEADLINE = 30.0  # Chromium waits about 3 s before each reconnection; a loaded machine, more

# What a web app would do: one EventSource, its token in the query (it cannot send headers); every
# change's id kept, in the DOM and in a global, and every reset event and (re)opening counted.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>changes</title></head>
<body><ul id="seen"></ul>
<script>
const params = new URLSearchParams(location.search);
window.seen = [];
window.resets = [];
window.opened = 0;
const token = encodeURIComponent(params.get('key'));
window.source = new EventSource(`${params.get('api')}/v1/${params.get('db')}/changes?access_token=${token}`);
window.source.onopen = () => { window.opened += 1; };
window.source.addEventListener('change', (event) => {
  const id = JSON.parse(event.data).id;
  window.seen.push(id);
  const item = document.createElement('li');
  item.textContent = id;
  document.getElementById('seen').appendChild(item);
});
window.source.addEventListener('reset', (event) => {
  window.resets.push({lastEventId: event.lastEventId, data: JSON.parse(event.data)});
});
</script></body></html>
"""


def test_a_browser_stream_survives_a_restart_and_catches_up_on_what_it_missed(pouch, couch_admin, make_db):
    db = make_db()
    keys = json.dumps([{'name': 'browser', 'key': KEY, 'scopes': ['read', 'write']}])
    with serving_page(PAGE) as origin, chromium() as browser:
        # serving_database's process, but the database outlives it: two processes, one after the other.
        env = {
            'WEB_CONCURRENCY': '1',
            'GUNICORN_THREADS': '4',
            'CLOUDANT_URL': pouch.url,
            'CLOUDANT_DATABASES': db,
            'API_KEYS': keys,
            'CORS_ALLOW_ORIGINS': origin,
        }

        def page(expression: str):
            return browser.execute_script(f'return {expression};')

        def seen() -> list[str]:
            return page('window.seen')

        def put(web: WebProcess, doc_id: str) -> None:
            answer = requests.put(
                f'{web.url}/v1/{db}/docs/{doc_id}',
                json={'by': 'api'},
                headers={'Authorization': f'Bearer {KEY}'},
                timeout=30,
            )
            assert answer.status_code in (200, 201), answer.text

        with WebProcess(**env) as first:
            first.wait_ready('/healthz')
            browser.get(f'{origin}/?' + urlencode({'api': first.url, 'db': db, 'key': KEY}))
            wait_for(lambda: page('window.source.readyState') == 1, 'the EventSource to open', DEADLINE)
            put(first, 'before-restart')
            wait_for(lambda: 'before-restart' in seen(), 'the first change on the page', DEADLINE)
        # Left the block: SIGTERM, as a deploy stops a dyno; the stream's last event came first.
        assert first.proc.returncode == 0, first.stderr
        wait_for(lambda: page('window.resets.length') > 0, 'the reset event on the page', DEADLINE)
        (reset,) = page('window.resets')
        assert reset['data']['reason'] == 'shutdown' and reset['data']['last_seq'], reset
        assert reset['lastEventId'] == reset['data']['last_seq']

        # Written while no server was there: the browser has to fetch these once it is back.
        for doc_id in ('while-down-1', 'while-down-2'):
            stored = couch_admin.put(f'{db}/{doc_id}', json={'by': 'couch'})
            assert stored.status_code == 201, stored.text

        with WebProcess(PORT=str(first.port), **env) as second:
            second.wait_ready('/healthz')
            wait_for(
                lambda: {'while-down-1', 'while-down-2'} <= set(seen()),
                'the changes made while the server was down, after the reconnection',
                DEADLINE,
            )
            put(second, 'after-restart')
            wait_for(lambda: 'after-restart' in seen(), 'a live change after the reconnection', DEADLINE)
            ids = seen()
            listed = page("[...document.querySelectorAll('#seen li')].map((item) => item.textContent)")
            assert page('window.opened') == 2  # the first opening and one reconnection
            assert len(page('window.resets')) == 1

    assert Counter(ids) == Counter(['before-restart', 'while-down-1', 'while-down-2', 'after-restart']), ids
    assert ids == ['before-restart', 'while-down-1', 'while-down-2', 'after-restart']
    assert listed == ids
