"""Idempotent retries: a request repeated with the same `Idempotency-Key` gets the first answer.

The key is claimed by an INSERT in the same transaction as the work it guards and completed with
the response before that transaction commits. A concurrent request with the same key blocks on
the claim's unique index until the first commits, then reads the stored answer; if the first
failed and rolled back, the claim vanished with it and the second does the work itself. So
exactly one sale comes of any number of concurrent retries, and a failed request leaves no key.
"""

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils.timezone import now

from sales.exceptions import IdempotencyKeyReused, InvalidIdempotencyKey
from sales.models import IdempotencyKey

KEY_PATTERN = re.compile(r"\A[\x21-\x7e]{1,255}\Z")
KEY_LIFETIME = timedelta(hours=24)


@dataclass
class Claim:
    """The outcome of claiming a key: a stored answer to replay, or the right to do the work."""

    key: str | None
    scope: str
    replay_status: int | None = None
    replay_body: Any = None
    _row_id: int | None = field(default=None, repr=False)

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None

    def complete(self, *, status: int, body: Any) -> None:
        if self._row_id is not None:
            IdempotencyKey.objects.filter(pk=self._row_id).update(
                response_status=status, response_body=body
            )


def _claim(*, key: str, scope: str, digest: str) -> int | None:
    """Insert the claim and return its id, or None when the key is taken already.

    While another transaction holds an uncommitted claim on the same key, this waits for it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IdempotencyKey._meta.db_table} "  # noqa: S608 - our own table name
            "(key, scope, request_hash, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (key, scope) DO NOTHING RETURNING id",
            [key, scope, digest, now()],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def request_hash(*, scope: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


@contextmanager
def idempotent(*, key: str | None, scope: str, body: Any) -> Iterator[Claim]:
    """Claim `key` for this request within one transaction; without a key, just the transaction.

    Use as `with idempotent(...) as claim:` and either return `claim.replay_*`, or do the work
    and call `claim.complete(...)` before leaving the block.
    """
    # No savepoint of its own: a failure anywhere inside rolls back the whole transaction anyway.
    with transaction.atomic(savepoint=False):
        if key is None:
            yield Claim(key=None, scope=scope)
            return
        if not KEY_PATTERN.match(key):
            raise InvalidIdempotencyKey
        digest = request_hash(scope=scope, body=body)
        row_id = _claim(key=key, scope=scope, digest=digest)
        if row_id is not None:
            yield Claim(key=key, scope=scope, _row_id=row_id)
            return
        stored = IdempotencyKey.objects.get(key=key, scope=scope)
        if stored.created_at < now() - KEY_LIFETIME:  # expired: the key is free again
            stored.delete()
            row_id = _claim(key=key, scope=scope, digest=digest)
            if row_id is not None:
                yield Claim(key=key, scope=scope, _row_id=row_id)
                return
            # A concurrent retry freed and claimed it first, and has committed: answer as it.
            stored = IdempotencyKey.objects.get(key=key, scope=scope)
        if stored.request_hash != digest:
            raise IdempotencyKeyReused
        yield Claim(
            key=key,
            scope=scope,
            replay_status=stored.response_status,
            replay_body=stored.response_body,
        )


def idempotency_keys_purge(*, older_than: timedelta = KEY_LIFETIME) -> int:
    """Delete the keys past their lifetime in the active store; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now() - older_than).delete()
    return deleted
