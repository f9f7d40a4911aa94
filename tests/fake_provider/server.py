"""A fake Anthropic/OpenAI server that speaks the real wire protocol over HTTP on 127.0.0.1.

It is the only stand-in our tests use: the real SDKs, httpx2, SSE parsing, timeouts and our error
mapping all run unmodified against it. It runs in-process in a thread (pytest fixtures) or as its
own process (Celery worker and browser tests)::

    python -m tests.fake_provider.server --port 8765
    # prints "FAKE_PROVIDER_URL=http://127.0.0.1:8765" once it accepts connections

and is then scripted over ``POST /_control/script``, ``POST /_control/reset`` and inspected with
``GET /_control/requests`` (``RemoteFakeProvider`` below wraps these for tests).
Anthropic clients use the root URL as ``base_url``; OpenAI clients use ``<root>/v1`` (or any prefix
ending in ``/v1``, because routes match on their suffix).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_provider import script as wire
from tests.fake_provider.script import Behaviour, PromptCache, Script


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections from SDK pools would otherwise make server_close() wait for clients.
    block_on_close = False
    fake: FakeProviderServer


class FakeProviderServer:
    """In-process handle: ``start()`` → base URL, ``script()``, ``requests``, ``reset()``, ``stop()``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.stopping = threading.Event()
        self._script = Script()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._connections: set[socket.socket] = set()
        self._cache = PromptCache()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind (port 0 picks a free port), serve in a daemon thread and return the root URL."""
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-provider", daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop fast: wake hanging handlers and drop idle keep-alive connections first."""
        self.stopping.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeProviderServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting and inspection ----------------------------------------------------------------
    def script(self, *, path: str, model: str | None = None, times: int = 1, **behaviour: Any) -> None:
        """Apply ``behaviour`` (see ``Behaviour``) to the next ``times`` requests matching path/model."""
        self._script.add(path=path, model=model, times=times, behaviour=Behaviour.from_mapping(behaviour))

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def requests_for(
        self, *, path: str | None = None, model: str | None = None, containing: str | None = None
    ) -> list[dict[str, Any]]:
        """The requests received for ``path`` and ``model``; with ``containing``, only those whose
        JSON body has that text (a question, say, when other tests' calls share the server)."""
        return [
            r
            for r in self.requests
            if (path is None or r["path"].endswith(path))
            and (model is None or r["model"] == model)
            and (containing is None or containing in json.dumps(r["body"]))
        ]

    def reset(self) -> None:
        """Forget scripts, the request log and the prompt cache, so each test starts cold."""
        self._script.clear()
        self._cache.clear()
        with self._lock:
            self._requests.clear()

    # -- used by the handler ---------------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked SSE, like the real APIs
    server: _HTTPServer
    timeout = 60  # idle keep-alive connections end on their own

    @property
    def fake(self) -> FakeProviderServer:
        return self.server.fake

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # pytest output stays readable; the request log is the record

    # -- routing ---------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlsplit(self.path)
        if url.path == "/_control/requests":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            found = self.fake.requests_for(path=query.get("path"), model=query.get("model"))
            self._send_json(200, {"requests": found})
        elif url.path == "/_control/script":
            self._send_json(200, {"pending": self.fake._script.pending()})
        elif url.path == "/_control/health":
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"message": f"no route for GET {url.path}"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path
        try:
            body = self._read_json()
        except ValueError as err:
            self._send_json(400, {"error": {"message": f"invalid JSON: {err}"}})
            return
        if path.startswith("/_control/"):
            self._control(path, body)
            return
        kind = wire.route(path)
        if kind is None:
            self._send_json(404, {"error": {"message": f"no route for POST {path}"}})
            return
        model = body.get("model") if isinstance(body, dict) else None
        self.fake._record(
            {
                "path": path,
                "model": model,
                "stream": bool(body.get("stream")),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "time": time.time(),
            }
        )
        behaviour = self.fake._script.take(path=path, model=model) or Behaviour()
        self._answer(kind, body, behaviour)

    def _control(self, path: str, body: dict[str, Any]) -> None:
        if path == "/_control/reset":
            self.fake.reset()
            self._send_json(200, {"ok": True})
        elif path == "/_control/script":
            try:
                self.fake.script(**body)
            except (TypeError, ValueError) as err:
                self._send_json(400, {"error": {"message": str(err)}})
                return
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"message": f"no control route {path}"}})

    # -- answering -------------------------------------------------------------------------------
    def _answer(self, kind: str, body: dict[str, Any], behaviour: Behaviour) -> None:
        stopping = self.fake.stopping
        if behaviour.latency and stopping.wait(behaviour.latency):
            return self._drop()
        if behaviour.hang is not None and behaviour.stall_after is None:
            # Never answer; the client's read timeout fires first. Wakes at once on server stop.
            stopping.wait(behaviour.hang)
            return self._drop()
        if behaviour.status is not None:
            status, payload, headers = wire.error_response(kind, behaviour)
            return self._send_json(status, payload, headers)
        if kind == "anthropic_messages":
            reply = wire.anthropic_reply(body, behaviour, self.fake._cache)
            if body.get("stream"):
                return self._stream(wire.anthropic_events(reply), behaviour, wire.anthropic_error_event)
            return self._send_json(200, wire.anthropic_message(reply), {"request-id": reply.id})
        if kind == "openai_chat":
            reply = wire.openai_reply(body, behaviour)
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                chunks = wire.openai_chunks(reply, include_usage=include_usage)
                return self._stream(chunks, behaviour, wire.openai_error_event)
            return self._send_json(200, wire.openai_completion(reply), {"x-request-id": reply.id})
        return self._send_json(200, wire.openai_embeddings(body, behaviour))

    def _stream(self, frames: Iterator[tuple[bool, bytes]], behaviour: Behaviour, error_frame: Any) -> None:
        """Send SSE frames as HTTP chunks; ``(is_delta, data)`` lets ``cut_stream_after`` count text."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deltas = 0
        stopping = self.fake.stopping
        try:
            for is_delta, data in frames:
                if is_delta and deltas == behaviour.stall_after:
                    # Headers and some text sent, then silence: the client's read timeout fires mid-stream.
                    stopping.wait(behaviour.hang if behaviour.hang is not None else 30.0)
                    return self._drop()
                if is_delta and deltas == behaviour.cut_stream_after:
                    if behaviour.stream_error:
                        self._chunk(error_frame(behaviour.stream_error))
                    # No terminating chunk: the client sees a truncated body, as when a proxy drops it.
                    return self._drop()
                if is_delta and behaviour.delta_delay and stopping.wait(behaviour.delta_delay):
                    return self._drop()
                deltas += is_delta
                self._chunk(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class RemoteFakeProvider:
    """The in-process API (``script``/``requests``/``reset``) for a server running as another process."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(  # noqa: S310 - fixed http://127.0.0.1 URL from our own server
            f"{self.base_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:  # surface the server's explanation, e.g. a typo'd key
            raise ValueError(f"{method} {path} -> {err.code}: {err.read().decode(errors='replace')}") from err

    def script(self, *, path: str, model: str | None = None, times: int = 1, **behaviour: Any) -> None:
        self._call("POST", "/_control/script", {"path": path, "model": model, "times": times, **behaviour})

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_control/requests")["requests"]

    def reset(self) -> None:
        self._call("POST", "/_control/reset", {})

    def wait_until_up(self, *, deadline: float = 10.0) -> None:
        """Poll the health endpoint; a freshly spawned process needs a moment to bind."""
        end = time.monotonic() + deadline
        while True:
            try:
                self._call("GET", "/_control/health")
                return
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    """Run as a process until SIGTERM/SIGINT; the first stdout line carries the URL for the parent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (read it from stdout)")
    args = parser.parse_args(argv)
    server = FakeProviderServer(host=args.host, port=args.port)
    url = server.start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"FAKE_PROVIDER_URL={url}", flush=True)
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
