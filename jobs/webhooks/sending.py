"""One signed POST of an event to a webhook's URL: short timeouts, no redirects, no proxy, no
retries here (the delivery schedules them), only to the address that passed the SSRF check.

The requests are libcurl's (`pycurl`): a worker posts hundreds of events a second on a kept-alive
connection, and libcurl does it in C for a third of the CPU of a pure-Python client, without
holding the interpreter's lock while it waits.
"""

import os
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import pycurl
from django.conf import settings
from standardwebhooks import Webhook as Signer

from jobs.webhooks.addresses import AddressRefused, AddressUnresolved, Target, target_resolve

USER_AGENT = "Kassa-Webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024
# What a receiver may answer for "try again later"; other 4xx end the delivery.
RETRYABLE_4XX = frozenset({408, 429})
# The system's certificate authorities, as Python's own TLS uses them (libcurl comes with none).
_CA = ssl.get_default_verify_paths()


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    response_code: int | None
    latency_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300

    @property
    def retryable(self) -> bool:
        """A network error, a timeout, a 5xx, a 408 or a 429: worth another try."""
        if self.response_code is None:
            return not self.error.startswith("refused:")
        return self.response_code >= 500 or self.response_code in RETRYABLE_4XX


def signer(secret: str) -> Signer:
    """What signs a subscription's messages with its secret (made once for a batch)."""
    return Signer(secret)


def signed_headers(*, signer: Signer, message_id: str, sent_at: datetime, body: str) -> dict:
    """The Standard Webhooks headers of a message, signed with the subscription's secret."""
    signature = signer.sign(message_id, sent_at, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


def _connect_to(target: Target) -> str:
    """libcurl's CONNECT_TO entry sending every request of the handle to the checked address,
    whatever host and port it would resolve and connect to itself."""
    address = f"[{target.address}]" if ":" in target.address else target.address
    return f"::{address}:{target.port}"


def _ascii_url(target: Target) -> str:
    """The checked URL as libcurl takes it, in ASCII: the host in IDNA (`bücher.example`), the
    path and query percent-encoded where they are not already, no credentials."""
    parts = target.parts
    host = target.host.encode("idna").decode() if not target.host.isascii() else target.host
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


class _Answer:
    """What the receiver says, counted and dropped: past `MAX_ANSWER_BYTES` the transfer stops."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return 0 if self.size > MAX_ANSWER_BYTES else len(chunk)  # 0: libcurl stops reading


class Connections:
    """The keep-alive connections of one worker's batch: a libcurl handle per URL, its host
    resolved and checked once per batch and every request sent to that address."""

    def __init__(self) -> None:
        self._handles: dict[str, tuple[Target, pycurl.Curl]] = {}

    def handle(self, url: str) -> tuple[Target, pycurl.Curl]:
        """The URL's checked target and its handle; raises `AddressRefused` as `target_resolve`."""
        if url not in self._handles:
            target = target_resolve(url)
            self._handles[url] = (target, self._curl(target))
        return self._handles[url]

    @staticmethod
    def _curl(target: Target) -> pycurl.Curl:
        curl = pycurl.Curl()
        milliseconds = round(settings.WEBHOOK_TIMEOUT_SECONDS * 1000)
        options = {
            # The URL as checked (no credentials), to the checked address only.
            pycurl.URL: _ascii_url(target),
            pycurl.CONNECT_TO: [_connect_to(target)],
            pycurl.PROTOCOLS: pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS,
            pycurl.FOLLOWLOCATION: 0,
            pycurl.PROXY: "",  # never a proxy named by the environment
            pycurl.NOSIGNAL: 1,  # timeouts without signals: workers run tasks in threads
            pycurl.CONNECTTIMEOUT_MS: milliseconds,
            # The whole request is bounded: a receiver trickling bytes cannot hold on.
            pycurl.TIMEOUT_MS: 2 * milliseconds,
            pycurl.USERAGENT: USER_AGENT,
            pycurl.POST: 1,
        }
        if _CA.cafile:
            options[pycurl.CAINFO] = _CA.cafile
        if _CA.capath:
            options[pycurl.CAPATH] = _CA.capath
        for option, value in options.items():
            curl.setopt(option, value)
        return curl

    def close(self) -> None:
        for _, curl in self._handles.values():
            curl.close()
        self._handles.clear()

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The failures an owner reads most in the delivery log, named; the others by libcurl's number.
_FAILURES = {
    pycurl.E_COULDNT_CONNECT: "ConnectionFailed",
    pycurl.E_OPERATION_TIMEDOUT: "Timeout",
    pycurl.E_GOT_NOTHING: "EmptyAnswer",
    pycurl.E_RECV_ERROR: "ReceiveFailed",
    pycurl.E_SEND_ERROR: "SendFailed",
    pycurl.E_SSL_CONNECT_ERROR: "TLSFailed",
    pycurl.E_PEER_FAILED_VERIFICATION: "CertificateRefused",
}


def _failure(error: pycurl.error, curl: pycurl.Curl) -> str:
    """A transfer's failure in words: what kind, the system's reason (connection refused…), and
    libcurl's message."""
    code, message = error.args
    errno = curl.getinfo(pycurl.OS_ERRNO)
    reason = f"{os.strerror(errno)}; " if errno else ""
    return f"{_FAILURES.get(code, f'curl error {code}')}: {reason}{message}"[:500]


def post(
    *, url: str, body: str, headers: dict[str, str], connections: Connections | None = None
) -> Outcome:
    """POST `body` to `url`; what happened, never an exception."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    own = connections is None
    connections = connections or Connections()
    try:
        try:
            _, curl = connections.handle(url)
        except AddressUnresolved as failure:  # DNS down for now: a network error, tried again
            return Outcome(None, took(), f"unresolved: {failure}")
        except AddressRefused as refusal:
            return Outcome(None, took(), f"refused: {refusal}")
        except (UnicodeError, ValueError, pycurl.error) as error:  # a URL libcurl cannot take
            return Outcome(None, took(), f"refused: The URL cannot be sent ({error}).")
        answer = _Answer()
        curl.setopt(pycurl.WRITEFUNCTION, answer.write)
        curl.setopt(
            pycurl.HTTPHEADER,
            [
                *(f"{name}: {value}" for name, value in headers.items()),
                "Content-Type: application/json",
                "Expect:",  # the body at once, without waiting for a 100 Continue
            ],
        )
        curl.setopt(pycurl.POSTFIELDS, body.encode())
        try:
            curl.perform()
        except pycurl.error as error:
            # An answer cut short past its limit has its status: the connection is closed.
            if not (error.args[0] == pycurl.E_WRITE_ERROR and answer.size > MAX_ANSWER_BYTES):
                return Outcome(None, took(), _failure(error, curl))
        return Outcome(curl.getinfo(pycurl.RESPONSE_CODE), took())
    finally:
        if own:
            connections.close()
