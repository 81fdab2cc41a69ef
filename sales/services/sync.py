"""Offline sales synced exactly once: a till's batch applied in the order the till made them,
with the same checkout rules as an online sale (`offline_sales_checkout`).

A sale is known by the till's `client_id`. Before a sale is applied its id is claimed
(`client_ids_claim`: advisory locks, then a read): one applied before, by this batch, an
earlier try of it or another connection sending it at the same moment, makes it `duplicate`
with that first sale, and nothing is written. So a batch cut off half-way (the connection
dropped, the worker killed) is simply sent again: what was committed is answered `duplicate`,
the rest is applied.

The batch's new sales are made together, in one transaction of a few statements whatever their
number, and each is still all or nothing: every rule is checked for each sale before anything
is written, and a refused sale writes nothing while the others are made. Should the database
refuse the batch itself (a constraint no rule foresaw), nothing of it is written and its sales
are applied one by one, each in a transaction of its own, so only the sale at fault fails.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils.timezone import now
from rest_framework import exceptions

from core.exceptions import DomainError, api_error_for
from sales.lock_objects import client_id_claim, client_ids_claim, wal_flush
from sales.models import Sale
from sales.services.checkout import (
    LineInput,
    OfflineCheckout,
    OfflineSale,
    PaymentInput,
    offline_sales_checkout,
    sale_checkout,
)
from stores.models import User
from stores.tenancy import current_store

# A till's clock may run a little ahead of the server's; a sale further ahead is refused.
CLOCK_SKEW = timedelta(minutes=5)

APPLIED = "applied"
DUPLICATE = "duplicate"
APPLIED_WITH_CONFLICT = "applied_with_conflict"
REJECTED = "rejected"


@dataclass(frozen=True)
class SyncSale:
    """One sale of a batch, as the till sent it (validated in shape by the caller)."""

    client_id: UUID
    occurred_at: datetime
    lines: Sequence[LineInput]
    payments: Sequence[PaymentInput]
    offline_number: str = ""
    customer_id: int | None = None
    note: str = ""


@dataclass
class SyncResult:
    client_id: UUID | str | None
    status: str
    sale: int | None = None
    number: int | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": None if self.client_id is None else str(self.client_id),
            "status": self.status,
            "sale": self.sale,
            "number": self.number,
            "conflicts": self.conflicts,
            "error": self.error,
        }


def rejection(error: Exception) -> dict[str, Any]:
    """An error as the API would answer it, for a rejected sale's `error`."""
    if isinstance(error, DataError | IntegrityError):  # what only the database refused
        error = api_error_for(error)
    if isinstance(error, DjangoValidationError):
        fields = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        return {"detail": "Invalid sale.", "code": "invalid", "fields": fields}
    if isinstance(error, exceptions.ValidationError):
        return {"detail": "Invalid sale.", "code": "invalid", "fields": error.detail}
    if isinstance(error, exceptions.APIException):
        body: dict[str, Any] = {
            "detail": str(error.detail),
            "code": getattr(error.detail, "code", None) or error.default_code,
        }
        if isinstance(error, DomainError):
            body.update(error.extra)
        return body
    raise error


def occurred_at_error(occurred_at: datetime) -> dict[str, Any] | None:
    """Why a till's time cannot be a sale's: in the future, or before the store existed."""
    if occurred_at > now() + CLOCK_SKEW:
        return {
            "detail": "occurred_at is in the future; check the till's clock.",
            "code": "invalid",
            "fields": {"occurred_at": ["This time is in the future."]},
        }
    if occurred_at < current_store().created_at:
        return {
            "detail": "occurred_at is before the store existed; check the till's clock.",
            "code": "invalid",
            "fields": {"occurred_at": ["This time is before the store was created."]},
        }
    return None


def _apply(*, sale: SyncSale, register_id: int, user: User, role: str) -> SyncResult:
    """One sale, in one transaction: duplicate, applied (with conflicts), or rejected."""
    try:
        with transaction.atomic():
            # The batch's commits do not wait for the disk one by one: one flush, before the
            # answer, makes them all durable (sales_sync).
            first = client_id_claim(client_id=sale.client_id, durable=False)
            if first is not None:
                return SyncResult(sale.client_id, DUPLICATE, sale=first[0], number=first[1])
            made = sale_checkout(
                user=user,
                role=role,
                register_id=register_id,
                lines=sale.lines,
                payments=sale.payments,
                customer_id=sale.customer_id,
                note=sale.note,
                client_id=sale.client_id,
                offline=OfflineSale(
                    occurred_at=sale.occurred_at, offline_number=sale.offline_number
                ),
            )
    except (DjangoValidationError, exceptions.APIException, DataError, IntegrityError) as error:
        return SyncResult(sale.client_id, REJECTED, error=rejection(error))
    return _made(sale.client_id, made)


def _made(client_id: UUID, made: Sale) -> SyncResult:
    conflicts = [
        {
            "product": conflict.product_id,
            "requested": str(conflict.requested),
            "available": str(conflict.available),
        }
        for conflict in made.recorded_conflicts
    ]
    return SyncResult(
        client_id,
        APPLIED_WITH_CONFLICT if conflicts else APPLIED,
        sale=made.pk,
        number=made.number,
        conflicts=conflicts,
    )


def _apply_together(
    items: Sequence[SyncSale], *, register_id: int, user: User, role: str
) -> list[SyncResult] | None:
    """The sales (in the order to apply them, each once) in one transaction: duplicate,
    applied (with conflicts), or rejected, each. None when the database refused the batch:
    nothing of it was written."""
    try:
        with transaction.atomic():
            # Not waiting for the disk at the commit: sales_sync flushes once, before answering.
            first = client_ids_claim(client_ids=[item.client_id for item in items], durable=False)
            new = [item for item in items if item.client_id not in first]
            outcomes = offline_sales_checkout(
                user=user,
                role=role,
                register_id=register_id,
                sales=[
                    OfflineCheckout(
                        client_id=item.client_id,
                        offline=OfflineSale(
                            occurred_at=item.occurred_at, offline_number=item.offline_number
                        ),
                        lines=item.lines,
                        payments=item.payments,
                        customer_id=item.customer_id,
                        note=item.note,
                    )
                    for item in new
                ],
            )
    except (IntegrityError, DataError):
        return None
    made = {item.client_id: outcome for item, outcome in zip(new, outcomes, strict=True)}
    results = []
    for item in items:
        if item.client_id in first:
            pk, number = first[item.client_id]
            results.append(SyncResult(item.client_id, DUPLICATE, sale=pk, number=number))
        elif isinstance(made[item.client_id], Sale):
            results.append(_made(item.client_id, made[item.client_id]))
        else:
            results.append(
                SyncResult(item.client_id, REJECTED, error=rejection(made[item.client_id]))
            )
    return results


def _client_uuid(client_id: UUID | str | None) -> UUID | None:
    if isinstance(client_id, UUID) or client_id is None:
        return client_id
    try:
        return UUID(client_id)
    except ValueError:
        return None


def _applied_before(sales: Sequence[SyncSale | SyncResult]) -> dict[UUID, tuple[int, int]]:
    ids = {_client_uuid(item.client_id) for item in sales} - {None}
    if not ids:
        return {}
    return {
        client_id: (pk, number)
        for client_id, pk, number in Sale.objects.filter(client_id__in=ids).values_list(
            "client_id", "pk", "number"
        )
    }


def sales_sync(
    *,
    register_id: int,
    sales: Sequence[SyncSale | SyncResult],
    user: User,
    role: str,
) -> list[SyncResult]:
    """Apply a till's batch in `occurred_at` order (the till's order for equal times); results
    in the order given. Items already decided by the caller (a `SyncResult`: rejected as sent)
    are passed through. The new sales commit together (`_apply_together`), or one by one when
    the database refuses them together (inside a caller's transaction, these are savepoints of
    it: the API calls it outside any)."""
    results: list[SyncResult | None] = [None] * len(sales)
    # Sales applied before (an earlier try of this batch, another connection): `duplicate`
    # with the first sale, whatever was sent this time, valid or not. Found in one query; a
    # sale committed with an id is final, so these need no transaction of their own.
    applied = _applied_before(sales)
    pending = []
    for index, item in enumerate(sales):
        first = applied.get(_client_uuid(item.client_id))
        if first is not None:
            results[index] = SyncResult(item.client_id, DUPLICATE, sale=first[0], number=first[1])
            continue
        if isinstance(item, SyncResult):
            results[index] = item
            continue
        error = occurred_at_error(item.occurred_at)
        if error is not None:
            results[index] = SyncResult(item.client_id, REJECTED, error=error)
            continue
        pending.append((item.occurred_at, index, item))
    seen: dict[UUID, int] = {}
    unique: list[tuple[int, SyncSale]] = []
    twins: list[tuple[int, int]] = []  # the same sale twice in one batch: the first one counts
    for _, index, item in sorted(pending, key=lambda entry: (entry[0], entry[1])):
        if item.client_id in seen:
            twins.append((index, seen[item.client_id]))
            continue
        seen[item.client_id] = index
        unique.append((index, item))
    together = (
        _apply_together([item for _, item in unique], register_id=register_id, user=user, role=role)
        if unique
        else []
    )
    for position, (index, item) in enumerate(unique):
        results[index] = (
            together[position]
            if together is not None
            else _apply(sale=item, register_id=register_id, user=user, role=role)
        )
    for index, first_index in twins:
        first = results[first_index]
        results[index] = SyncResult(
            sales[index].client_id,
            DUPLICATE if first.sale is not None else first.status,
            sale=first.sale,
            number=first.number,
            error=None if first.sale is not None else first.error,
        )
    if any(result.sale is not None for result in results):
        # The batch's sales committed without waiting for the disk, and a duplicate may be a
        # sale an earlier try committed so and never flushed (its worker killed): this waits
        # once for all of them, before the till is told any sale is kept. A crash before it
        # loses only sales no one was told of, and the till sends them again.
        wal_flush()
    return results  # type: ignore[return-value]
