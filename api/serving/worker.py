"""couchgate's gunicorn worker: gthread, but a thread only for a request whose head has arrived whole.

gunicorn 27's gthread gives each new connection a thread that waits up to 5 s for a first byte and then
reads the head with no deadline, so a few dozen idle or trickling clients starve every thread. Here the
worker's poller collects a head (api/edge/request_head.py) within GUNICORN_HEADER_TIMEOUT, as gthread
already waits for kept-alive connections, and hands the whole head to gunicorn's parser in a thread.
Refusals are problem documents (api/edge/framing.py), never gunicorn's text/html pages.
"""

from __future__ import annotations

import contextlib
import resource
import selectors
import time
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from gunicorn import http
from gunicorn.http.errors import InvalidHeader, InvalidHTTPVersion, LimitRequestHeaders, LimitRequestLine
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

from api.edge.framing import HeadTimeout, MissingHost, framing_problem, raw_answer
from api.edge.request_head import HEAD_LIMIT, REQUEST_LINE_LIMIT, RequestHead, Verdict
from api.edge.request_log import request_id_for
from api.errors import Problem
from api.serving.access import log_access, peer_ip, unparsed
from api.serving.body import DeadlinedBody
from api.serving.linger import LINGER, Lingering, received
from api.serving.streams import STOP_FLUSH, LiveBody, StreamLoop

_FRAMING = ('CONTENT-LENGTH', 'TRANSFER-ENCODING')  # the headers that give a request a body


class EdgeWorker(ThreadWorker):
    """gthread whose threads serve only requests whose head is already in memory."""

    head_timeout = 10.0  # seconds; edge_worker() sets GUNICORN_HEADER_TIMEOUT's value

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # In deadline order: every deadline is "now + a constant" when the entry is added.
        self._heads: dict = {}  # TConn -> (RequestHead, deadline)
        self._lingering = Lingering(self._close)
        self._whole: set = set()  # connections whose head waits in their parser's buffer
        self._watched: set = set()  # connections this worker registered for their head's bytes
        self._handed_off: set = set()  # sockets of live answers, now the stream loop's
        self._stream_loop: StreamLoop | None = None  # made in the worker (a socketpair and a thread)

    def init_process(self) -> None:
        # Every change stream holds a socket: the soft limit on open files (often 1,024) up to the
        # hard one, so that CHANGES_MAX_STREAMS, not the kernel, says how many a worker serves.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(
                    resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 16, hard)
                )
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi  # type: ignore[has-type]  # gunicorn sets it untyped
        self.wsgi = lambda environ, start_response: self._served(app, environ, start_response)

    def _served(self, app, environ, start_response):
        result = app(environ, start_response)
        response = getattr(start_response, '__self__', None)  # gunicorn's Response
        if not isinstance(result, LiveBody) or response is None:
            return result
        response.force_close()  # the answer ends with the connection: `Connection: close`
        return self._hand_off(result, response, environ['gunicorn.socket'])

    def _hand_off(self, body: LiveBody, response, sock):
        """The catch-up from this thread, then the socket to the stream loop: no thread waits on it."""
        try:
            yield from body.catch_up()
            response.send_headers()
        except BaseException:
            body.close()
            raise
        chunked, response.chunked = response.chunked, False  # gunicorn writes no last chunk
        if self._stream_loop is None:
            self._stream_loop = StreamLoop()
        self._handed_off.add(sock)
        self._stream_loop.adopt(sock, body, chunked)

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        if self._stream_loop is not None:
            self._stream_loop.stop()  # each live answer ends with where to resume

    def run(self) -> None:
        try:
            super().run()
        finally:
            if self._stream_loop is not None:
                self._stream_loop.stop()
                self._stream_loop.join(STOP_FLUSH + 0.5)

    def enqueue_req(self, conn) -> None:
        # TLS and HTTP/2 prior knowledge negotiate in the thread, as in gthread (Heroku uses neither).
        if (
            conn in self._whole
            or self.cfg.is_ssl
            or negotiation.prior_knowledge_allowed(self.cfg, conn.client)
        ):
            self._whole.discard(conn)
            super().enqueue_req(conn)
            return
        if conn.sock.gettimeout() != 0.0:  # a kept-alive connection is non-blocking already
            conn.sock.setblocking(False)
        head = RequestHead()
        self._heads[conn] = (head, time.monotonic() + self.head_timeout)
        # Read ahead behind the previous request (pipelining) is the start of this head.
        buffered = conn.parser.unreader.take_buffered() if conn.parser else b''
        if buffered and self._judge(conn, head, head.feed(buffered)):
            return
        # A kept-alive connection comes here because the poller saw its next head arrive: read it
        # now, rather than register the socket again and wait one more turn of the loop for it.
        data = received(conn.sock)
        if data == b'':  # the client left
            self._heads.pop(conn, None)
            self._close(conn)
        elif not (data and self._judge(conn, head, head.feed(data))):
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))
            self._watched.add(conn)

    def _on_head_bytes(self, conn, _sock) -> None:
        data = received(conn.sock)
        if data is None:
            return
        if not data:  # the client left before finishing its head
            self._unwatch(conn)
            self._close(conn)
            return
        if conn in self._heads:
            head, _ = self._heads[conn]
            self._judge(conn, head, head.feed(data))

    def _judge(self, conn, head: RequestHead, verdict: Verdict) -> bool:
        """Act on a verdict; False while the head is incomplete."""
        if verdict is Verdict.INCOMPLETE:
            return False
        self._unwatch(conn)
        if verdict is Verdict.LINE_TOO_LONG:
            self._refuse(conn, head, LimitRequestLine(len(head.data), REQUEST_LINE_LIMIT))
        elif verdict is Verdict.HEAD_TOO_LARGE:
            self._refuse(conn, head, LimitRequestHeaders(f'head over {HEAD_LIMIT} bytes'))
        else:
            if conn.parser is None:
                conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.parser.unreader.unread(bytes(head.data))
            conn.data_ready = True  # gthread's handle() must not wait for a first byte again
            self._whole.add(conn)
            self.enqueue_req(conn)
        return True

    def _unwatch(self, conn) -> None:
        self._heads.pop(conn, None)
        # Only a socket registered here: unregistering another raised a KeyError, whose message
        # formats the socket (getsockname and getpeername: two syscalls per kept-alive request).
        if conn in self._watched:
            self._watched.discard(conn)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _refuse(self, conn, head: RequestHead, error: Exception) -> None:
        """Answer a head that will never be served, from this loop: the answer fits the send buffer."""
        problem = framing_problem(error) or Problem(400, 'bad-request', 'The request is malformed.')
        request_id = request_id_for(None)
        answer = raw_answer(problem, request_id)
        self.log.warning('Invalid request from ip=%s: %s', peer_ip(conn.client), error)
        log_access(
            self,
            unparsed(bytes(head.data)),
            conn.sock,
            conn.client,
            problem.status,
            request_id,
            len(answer),
            datetime.now(),
        )
        with contextlib.suppress(OSError):
            conn.sock.send(answer)
        self._lingering.start(self.poller, conn)

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn, fs) -> None:
        if conn.sock in self._handed_off:  # a live answer's: the stream loop closes it
            self._handed_off.discard(conn.sock)
            self.nr_conns -= 1
            return
        # gthread would close with close_graceful, waiting on this loop for the client (serving/linger.py).
        if fs.cancelled() or fs.exception() is not None or fs.result():
            super().finish_request(conn, fs)
        else:
            self._lingering.start(self.poller, conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in _due(((c, deadline) for c, (_, deadline) in self._heads.items()), now):
            head, _ = self._heads[conn]
            self._unwatch(conn)
            if head.data:
                self._refuse(conn, head, HeadTimeout(f'no complete head within {self.head_timeout:g} s'))
            else:  # nothing asked, nothing to answer
                self._close(conn)
        if not self.alive:  # stopping: a connection that has sent nothing gets nothing more
            for conn in [c for c, (head, _) in self._heads.items() if not head.data]:
                self._unwatch(conn)
                self._close(conn)
        self._lingering.expire(self.poller, now)

    def handle_request(self, req, conn):
        # gunicorn serves any HTTP/1.x and a Host-less HTTP/1.1 request; the edge refuses both.
        if req.version not in ((1, 0), (1, 1)):
            raise InvalidHTTPVersion(f'HTTP/{req.version[0]}.{req.version[1]}')
        if req.version == (1, 1) and not any(name == 'HOST' for name, _ in req.headers):
            raise MissingHost('Host')
        # A request without Content-Length or Transfer-Encoding has no body (gunicorn reads none):
        # its reads never wait, and bounding them cost four settimeout() syscalls per GET.
        if any(name in _FRAMING for name, _ in req.headers):
            req.body = DeadlinedBody(req.body, conn.sock, self.head_timeout)
        return super().handle_request(req, conn)

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's error answer as a problem document: 4xx for the client's errors, 500 for ours."""
        started = datetime.now()
        problem = framing_problem(exc)
        if problem is None:
            # The path, never the query: a query may hold a bearer (access_token, on the changes route).
            self.log.exception('Error handling request %s', getattr(req, 'path', '(no URI read)'))
            problem = Problem(
                500, 'internal-error', 'Unexpected error; the log has it under this request id.'
            )
        else:
            self.log.warning('Invalid request from ip=%s: %s', peer_ip(addr), exc)
        if req is None and isinstance(exc, InvalidHeader):  # gunicorn's own handle_error does the same
            req = getattr(exc, 'req', None)
        incoming = next(
            (value for name, value in getattr(req, 'headers', ()) if name == 'X-REQUEST-ID'), None
        )
        request_id = request_id_for(incoming)
        answer = raw_answer(problem, request_id)
        log_access(self, req or unparsed(b''), client, addr, problem.status, request_id, len(answer), started)
        try:
            client.setblocking(True)
            client.settimeout(LINGER)  # a client that does not read its answer holds this thread no longer
            client.sendall(answer)
        except OSError:
            self.log.debug('Failed to send error message.')


def edge_worker(head_timeout: float) -> type[EdgeWorker]:
    """The worker class for gunicorn.conf.py, with the head deadline of the settings."""

    class ConfiguredEdgeWorker(EdgeWorker):
        pass

    ConfiguredEdgeWorker.head_timeout = head_timeout
    return ConfiguredEdgeWorker


def _due(entries: Iterable[tuple[object, float]], now: float) -> list:
    """The leading keys of deadline-ordered (key, deadline) pairs whose deadline has passed."""
    due = []
    for key, deadline in entries:
        if deadline > now:
            break
        due.append(key)
    return due
