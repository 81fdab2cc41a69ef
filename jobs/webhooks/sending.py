"""One signed POST of an event to a webhook's URL: short timeouts, no redirects, no retries
here (the delivery schedules them), only to the address that passed the SSRF check."""

import time
from dataclasses import dataclass
from datetime import datetime

import urllib3
from django.conf import settings
from standardwebhooks import Webhook as Signer

from jobs.webhooks.addresses import AddressRefused, target_resolve

USER_AGENT = "Kassa-Webhooks/1"
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


def post(*, url: str, body: str, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`; what happened, never an exception."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        target = target_resolve(url)
    except AddressRefused as refusal:
        return Outcome(None, took(), f"refused: {refusal}")
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS
    options = {
        "timeout": urllib3.Timeout(connect=seconds, read=seconds),
        "retries": False,
        "maxsize": 1,
    }
    if target.parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    path = target.parts.path or "/"
    if target.parts.query:
        path += f"?{target.parts.query}"
    try:
        with pool:
            response = pool.urlopen(
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
            response.drain_conn()
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        return Outcome(None, took(), f"{type(error).__name__}: {error}"[:500])
    return Outcome(response.status, took())
