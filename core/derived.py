"""Derived data told what changed: an app announces which of a store's days changed, and the
subscribers named in settings (`DAYS_CHANGED_SUBSCRIBERS`, dotted paths) bring up to date what
they derive from them.

This is how a lower app lets a higher one react without importing it: a checkout, a refund or
a store's new time zone changes days whose analytics must follow. Only data that a rebuild can
recreate subscribes; business steps stay explicit calls. A subscriber is called at once, in the
announcer's transaction and store schema; what it sends to workers it sends on commit, so a
rolled-back sale announces nothing.
"""

from collections.abc import Callable, Collection
from datetime import date
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

# `subscriber(schema_name=..., days=...)`: `days` are local days, or None for every day.
DaysChangedSubscriber = Callable[..., None]


@cache
def _subscribers(paths: tuple[str, ...]) -> tuple[DaysChangedSubscriber, ...]:
    return tuple(import_string(path) for path in paths)


def days_changed(*, days: Collection[date] | None) -> None:
    """Announce that the active store's local `days` changed (None: every day may have moved)."""
    for subscriber in _subscribers(tuple(settings.DAYS_CHANGED_SUBSCRIBERS)):
        subscriber(schema_name=connection.schema_name, days=days)
