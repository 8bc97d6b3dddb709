"""The upstream is killed and restarted while 16 threads read: no 500, no hang, and the pool heals."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.fault_proxy import FaultProxy
from tests.support.poll import DEADLINE, wait_for
from tests.support.pouch import CouchAdmin, PouchServer

THREADS = 16


def test_reads_during_an_upstream_restart_fail_cleanly_then_all_succeed(
    tmp_path, server_ssl_context, make_client
):
    # On disk, not in memory: the data must outlive the restart.
    with (
        PouchServer(tmp_path, in_memory=False) as pouch,
        FaultProxy(('127.0.0.1', pouch.port), server_ssl_context) as proxy,
    ):
        admin = CouchAdmin(pouch.url)
        assert admin.put('reads').status_code == 201
        assert admin.put('reads/a', json={'k': 1}).status_code == 201
        client = make_client(
            'reads',
            upstream=proxy,
            GUNICORN_THREADS=str(THREADS),
            CLOUDANT_CONNECT_TIMEOUT='2',
            CLOUDANT_READ_TIMEOUT='5',
        )
        phase, results, stop = ['up'], [], threading.Event()

        def hammer():
            while not stop.is_set():
                started_in = phase[0]  # the phase a request started in is the one it counts for
                began = time.monotonic()
                status = client.simulate_get('/v1/reads/docs/a').status_code
                results.append((started_in, status, time.monotonic() - began))

        def count(name, status=None):
            return sum(1 for p, s, _ in list(results) if p == name and status in (None, s))

        with ThreadPoolExecutor(THREADS) as pool:
            workers = [pool.submit(hammer) for _ in range(THREADS)]
            try:
                wait_for(lambda: count('up') >= THREADS, 'reads before the restart')
                phase[0] = 'down'
                pouch.stop()
                wait_for(lambda: count('down') >= THREADS, 'reads while the server is down')
                pouch.start()  # returns once the server answers again
                phase[0] = 'back'
                wait_for(lambda: count('back') >= 10 * THREADS, 'reads after the restart')
            finally:
                stop.set()
                for worker in workers:
                    worker.result(timeout=DEADLINE)

        statuses = {s for _, s, _ in results}
        assert statuses <= {200, 503, 504}, statuses
        assert count('down', 503) + count('down', 504) > 0  # the outage was seen
        assert count('back') == count('back', 200)  # once it is back, every read succeeds
        assert max(took for _, _, took in results) < 30  # no thread ever held past Heroku's limit
        wait_for(lambda: proxy.open_connections <= THREADS, 'connections back within the pool size')
        print(
            f'\nrestart: {len(results)} reads; up {count("up")}, down {count("down")} '
            f'(503: {count("down", 503)}, 504: {count("down", 504)}, 200: {count("down", 200)}), '
            f'back {count("back")} all 200; connections accepted {proxy.accepted_connections}, '
            f'open at the end {proxy.open_connections}'
        )
