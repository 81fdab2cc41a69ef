"""A store's clock: its local days and midnights, in its own time zone."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.timezone import now

from stores.models import Store
from stores.tenancy import current_store


def local_day(moment: datetime, *, store: Store | None = None) -> date:
    """The day `moment` falls on in the store's time zone (the active store's by default)."""
    store = store or current_store()
    return moment.astimezone(ZoneInfo(store.timezone)).date()


def local_today(store: Store) -> date:
    return local_day(now(), store=store)


def local_midnight(day: date, *, store: Store | None = None) -> datetime:
    """The moment `day` starts in the store's time zone (the active store's by default)."""
    store = store or current_store()
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(store.timezone))
