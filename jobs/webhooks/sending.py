"""One signed POST of an event to a webhook's URL: short timeouts, no redirects, no retries
here (the delivery schedules them), only to the address that passed the SSRF check."""

import time
from dataclasses import dataclass
from datetime import datetime

import urllib3
from django.conf import settings
from standardwebhooks import Webhook as Signer

from jobs.webhooks.addresses import AddressRefused, AddressUnresolved, Target, target_resolve

USER_AGENT = "Kassa-Webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024
# What a receiver may answer for "try again later"; other 4xx end the delivery.
RETRYABLE_4XX = frozenset({408, 429})


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


def signed_headers(*, secret: str, message_id: str, sent_at: datetime, body: str) -> dict:
    """The Standard Webhooks headers of a message, signed with the subscription's secret."""
    signature = Signer(secret).sign(message_id, sent_at, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


class Connections:
    """Keep-alive connections of one worker's batch, one pool per checked address and host:
    a batch of deliveries to one URL reuses one connection."""

    def __init__(self) -> None:
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}

    def pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.parts.scheme, target.address, target.port, target.host)
        if key not in self._pools:
            seconds = settings.WEBHOOK_TIMEOUT_SECONDS
            options = {
                # `total` bounds the whole request: a receiver trickling bytes cannot hold on.
                "timeout": urllib3.Timeout(connect=seconds, read=seconds, total=2 * seconds),
                "retries": False,
                "maxsize": 1,
            }
            if target.parts.scheme == "https":
                self._pools[key] = urllib3.HTTPSConnectionPool(
                    target.address,
                    target.port,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    **options,
                )
            else:
                self._pools[key] = urllib3.HTTPConnectionPool(
                    target.address, target.port, **options
                )
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def post(
    *, url: str, body: str, headers: dict[str, str], connections: Connections | None = None
) -> Outcome:
    """POST `body` to `url`; what happened, never an exception."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        target = target_resolve(url)
    except AddressUnresolved as failure:  # DNS down for now: a network error, tried again
        return Outcome(None, took(), f"unresolved: {failure}")
    except AddressRefused as refusal:
        return Outcome(None, took(), f"refused: {refusal}")
    own = connections is None
    connections = connections or Connections()
    path = target.parts.path or "/"
    if target.parts.query:
        path += f"?{target.parts.query}"
    try:
        response = connections.pool(target).urlopen(
            "POST",
            path,
            body=body.encode(),
            headers={
                **headers,
                "Host": target.parts.netloc,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            redirect=False,
            retries=False,
            preload_content=False,
        )
        # What it says is not kept: a little is read so the connection can be reused, and a
        # longer answer closes it instead.
        if len(response.read(MAX_ANSWER_BYTES + 1)) > MAX_ANSWER_BYTES:
            response.close()
        else:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        return Outcome(None, took(), f"{type(error).__name__}: {error}"[:500])
    finally:
        if own:
            connections.close()
    return Outcome(response.status, took())
