"""A real HTTP receiver on 127.0.0.1 for the scheduler tests, and a webhook deliverer.

``Receiver(fail_first=2)`` answers 500 to its first two requests and 200 after;
``Receiver(hang=True)`` never answers (the client times out). Every request is kept
(its JSON body and ``Idempotency-Key`` header) in ``received`` in arrival order.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A threaded HTTP server recording POSTs; use as a context manager."""

    def __init__(self, *, fail_first: int = 0, hang: bool = False):
        self.fail_first = fail_first
        self.hang = hang
        self.requests: list[dict[str, Any]] = []  # every request, failed or not
        self.accepted: list[dict[str, Any]] = []  # those answered 200
        self._lock = threading.Lock()
        self._stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                item = {"key": self.headers.get("Idempotency-Key"), "body": body}
                with receiver._lock:
                    receiver.requests.append(item)
                    failing = len(receiver.requests) <= receiver.fail_first
                    if not failing and not receiver.hang:
                        receiver.accepted.append(item)
                if receiver.hang:
                    receiver._stop.wait(30)
                    return
                status = 500 if failing else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": %s}' % (b"false" if failing else b"true"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` requests were accepted (or fail the test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.accepted)} of {count} deliveries arrived")


def webhook(url: str, timeout: float = 2.0):
    """A deliverer POSTing the event as JSON with its idempotency key (raises on non-2xx)."""

    def deliver(event) -> int:
        body = json.dumps(
            {"id": event.id, "topic": event.topic, "payload": event.payload}, default=str
        ).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": event.idempotency_key},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # raises on 4xx/5xx
            return answer.status

    return deliver
