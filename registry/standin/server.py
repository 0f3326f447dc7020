"""A local stand-in HTTP server that plays a provider's API on 127.0.0.1.

Tests, benchmarks and `make demo` point `REGISTRY_<PROVIDER>_BASE_URL` at it, so the real SDK
code runs unchanged against recorded listings. Faults (timeouts, 401s, broken pages) can be
injected per path to prove how discovery reacts; `registry.standin.hostile` builds the answers
of a misbehaving provider (bodies that trickle or never end, oversized listings, redirects).
"""

from __future__ import annotations

import json
import select
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class StandInRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The request body decoded as JSON; None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(slots=True)
class StandInResponse:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)
    # A streamed body: sent chunk by chunk (chunked encoding) instead of `body`, with
    # `chunk_delay` seconds before each chunk; with `then_stall` the answer never ends: the
    # connection stays open, silent, until the client closes it.
    chunks: Iterable[bytes] | None = None
    chunk_delay: float = 0.0
    then_stall: bool = False
    header_delay: float = 0.0  # with `chunks`: seconds before each byte of the header block

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "application/json")
            return self.body.encode(), headers
        return self.body, headers


Handler = Callable[[StandInRequest], StandInResponse]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> StandInResponse:
    return StandInResponse(status=status, body=body, headers=dict(headers or {}))


def _always(response: StandInResponse) -> Handler:
    def handler(_request: StandInRequest) -> StandInResponse:
        return response

    return handler


# A stalled answer gives up after this long even if the client never does.
STALL_LIMIT_SECONDS = 120.0


@dataclass(slots=True)
class _Fault:
    handler: Handler
    after: int  # let this many matching requests through first
    seen: int = 0


class StandInServer:
    """`with StandInServer() as server: server.route("/v1/models", handler)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> None:
        # Added to every answer: real providers take 100 ms or more, and a benchmark of
        # parallel refreshes means little against a server that answers in microseconds.
        self.latency = latency
        self._routes: dict[tuple[str, str], Handler] = {}
        self._prefixes: dict[tuple[str, str], Handler] = {}
        self._faults: dict[tuple[str, str], _Fault] = {}
        self._lock = threading.Lock()
        self.requests: list[StandInRequest] = []
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, handler: Handler, method: str = "GET") -> None:
        with self._lock:
            self._routes[(method.upper(), path)] = handler

    def route_prefix(self, prefix: str, handler: Handler, method: str = "GET") -> None:
        """Answer every path under `prefix` (ids in the path: `/v1/text-to-speech/{voice}`)."""
        with self._lock:
            self._prefixes[(method.upper(), prefix)] = handler

    def fail(
        self, path: str, handler: Handler | StandInResponse, *, after: int = 0, method: str = "GET"
    ) -> None:
        """Answer requests to `path` with `handler` once `after` of them have gone through."""
        fault_handler = handler if callable(handler) else _always(handler)
        with self._lock:
            self._faults[(method.upper(), path)] = _Fault(fault_handler, after)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to a new server's state (no routes, faults or recorded requests), still running.

        Lets a test session share one server instead of starting one per test.
        """
        with self._lock:
            self._routes.clear()
            self._prefixes.clear()
            self._faults.clear()
            self.requests.clear()

    def requests_to(self, path: str) -> list[StandInRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> StandInServer:
        # A short poll interval keeps stop() fast (serve_forever checks for shutdown between polls).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends the answers still streaming
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, request: StandInRequest) -> StandInResponse:
        key = (request.method, request.path)
        with self._lock:
            self.requests.append(request)
            fault = self._faults.get(key)
            handler = self._routes.get(key) or next(
                (
                    h
                    for (method, prefix), h in self._prefixes.items()
                    if method == request.method and request.path.startswith(prefix)
                ),
                None,
            )
            if fault is not None:
                fault.seen += 1
                if fault.seen > fault.after:
                    handler = fault.handler
        if handler is None:
            return json_response({"error": {"message": f"no route for {request.path}"}}, 404)
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, kept-alive responses wait ~40 ms on Nagle + delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = StandInRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = server._dispatch(request)
                if response.delay or server.latency:
                    time.sleep(response.delay + server.latency)
                if response.chunks is not None:
                    self._stream(response)
                    return
                body, headers = response.encoded()
                try:
                    self.send_response(response.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if "Content-Length" not in headers:  # a test may declare a lie
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

            def _stream(self, response: StandInResponse) -> None:
                self.close_connection = True
                try:
                    headers = {**response.headers, "Transfer-Encoding": "chunked"}
                    if response.header_delay:
                        reason = self.responses.get(response.status, ("",))[0]
                        lines = [f"HTTP/1.1 {response.status} {reason}"]
                        lines += [f"{name}: {value}" for name, value in headers.items()]
                        for byte in ("\r\n".join(lines) + "\r\n\r\n").encode():
                            if server._stopping.wait(response.header_delay):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                    else:
                        self.send_response(response.status)
                        for name, value in headers.items():
                            self.send_header(name, value)
                        self.end_headers()
                        self.wfile.flush()
                    for chunk in response.chunks or ():
                        if server._stopping.wait(response.chunk_delay):
                            return
                        if chunk:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                    if response.then_stall:
                        self._stall()
                        return
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client closed the connection: what a hostile test wants

            def _stall(self) -> None:
                """Send nothing more; return once the client closes (or the server stops)."""
                ends = time.monotonic() + STALL_LIMIT_SECONDS
                while not server._stopping.is_set() and time.monotonic() < ends:
                    readable, _, _ = select.select([self.connection], [], [], 0.1)
                    if readable and not self.connection.recv(1024):
                        return

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are recorded on the server

        return _Handler
