"""A real webhook receiver on loopback for the tests: an HTTP server in a thread that verifies
every signature with the `standardwebhooks` library, answers from a script (500, a timeout, a
dropped connection, 410…) and then 204, and keeps what it received."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook as Verifier

TIMEOUT = "timeout"  # answer nothing for longer than the sender waits
DROP = "drop"  # close the connection without an answer
LATE = "late"  # take the event, then answer too late: the sender sends it again


@dataclass
class Received:
    webhook_id: str
    type: str
    data: dict
    at: float
    verified: bool


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    script: list = field(default_factory=list)  # what to answer first, in order
    requests: list[Received] = field(default_factory=list)
    hang_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[Received]:
        """What arrived and was answered 2xx, each `webhook-id` once (as a receiver dedupes)."""
        seen, kept = set(), []
        for received in self.requests:
            if received.webhook_id not in seen and received.verified:
                seen.add(received.webhook_id)
                kept.append(received)
        return kept


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _keep(self, receiver: Receiver, body: bytes) -> bool:
        """Verify the signature with the library and keep the event; whether it verified."""
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            Verifier(receiver.secret).verify(body, headers)
            verified = True
        except Exception:
            verified = False
        document = json.loads(body)
        with receiver.lock:
            receiver.requests.append(
                Received(
                    webhook_id=headers["webhook-id"],
                    type=document["type"],
                    data=document["data"],
                    at=time.monotonic(),
                    verified=verified,
                )
            )
        return verified

    def do_POST(self) -> None:
        receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with receiver.lock:
            answer = receiver.script.pop(0) if receiver.script else 204
        if answer == TIMEOUT:
            time.sleep(receiver.hang_seconds)
            return
        if answer == LATE:
            self._keep(receiver, body)
            time.sleep(receiver.hang_seconds)
            return
        if answer == DROP:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        verified = True
        if 200 <= answer < 300:
            verified = self._keep(receiver, body)
        self.send_response(answer if verified else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def receiver_running(
    *,
    script: list | None = None,
    hang_seconds: float = 3.0,
    port: int = 0,
    secret: str | None = None,
) -> Iterator[Receiver]:
    """A receiver listening on loopback (on `port`, or a free one) for the `with` block."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    receiver = Receiver(
        url=f"http://127.0.0.1:{server.server_port}/hooks/kassa",
        secret=secret,
        script=list(script or []),
        hang_seconds=hang_seconds,
    )
    server.receiver = receiver  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
