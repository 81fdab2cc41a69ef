"""Work done in every store: each store in its own schema, a failing store logged and the
others done all the same (the nightly rebuild, the stale-job sweep, the key purge)."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from stores.models import Store

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class FanOut(Generic[T]):
    """What each store's work returned, and the stores whose work failed."""

    results: list[T] = field(default_factory=list)
    failed: list[Store] = field(default_factory=list)


def for_each_store(work: Callable[[Store], T], *, stores: Iterable[Store], what: str) -> FanOut[T]:
    """`work(store)` in each store's schema and a transaction of its own: all of a store's work
    or none of it. An exception is logged with the store, and the next store goes on (a broken
    store never stops the others)."""
    outcome: FanOut[T] = FanOut()
    for store in stores:
        try:
            with tenant_context(store), transaction.atomic():
                outcome.results.append(work(store))
        except Exception:
            logger.exception(
                "%s failed in a store",
                what,
                extra={"store": store.tenant_key, "schema": store.schema_name},
            )
            outcome.failed.append(store)
            connection.set_schema_to_public()
    return outcome
