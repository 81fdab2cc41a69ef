"""Reading one legacy value: numbers, text, booleans, moments and ids, of any column type."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import make_aware

from core.money import MONEY_DIGITS, MONEY_PLACES, ZERO, currency_places

TRUE_WORDS = frozenset({"t", "true", "y", "yes", "1"})
FALSE_WORDS = frozenset({"f", "false", "n", "no", "0"})


class Malformed(Exception):
    """A row that cannot be read: its store moves nothing."""


def decimal_value(
    row: Mapping[str, object],
    column: str,
    *,
    places: int,
    digits: int = 12,
    minimum: Decimal | None = ZERO,
    maximum: Decimal | None = None,
    default: Decimal | None = None,
) -> Decimal:
    value = row.get(column)
    if value is None:
        if default is None:
            raise Malformed(f"{column} is missing")
        return default
    try:
        # str() first: a float's shortest repr is the number its column showed (9.99, not 9.9899…).
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise Malformed(f"{column} {value!r} is not a number") from None
    if not number.is_finite():
        raise Malformed(f"{column} {value!r} is not a number")
    if abs(number) >= Decimal(10) ** (digits - places):
        raise Malformed(f"{column} {value} is too large")
    exact = number.quantize(Decimal(1).scaleb(-places))
    if exact != number:  # rounding legacy money silently would change what was paid
        raise Malformed(f"{column} {value} has more than {places} decimal places")
    if minimum is not None and exact < minimum:
        raise Malformed(f"{column} {value} is below {minimum}")
    if maximum is not None and exact > maximum:
        raise Malformed(f"{column} {value} is above {maximum}")
    return exact


def money_value(
    row: Mapping[str, object],
    column: str,
    *,
    currency: str,
    maximum: Decimal | None = None,
    default: Decimal | None = None,
) -> Decimal:
    """An amount in the store's currency: at most its minor-unit places, ten whole digits."""
    places = currency_places(currency)
    return decimal_value(
        row,
        column,
        places=places,
        digits=MONEY_DIGITS - MONEY_PLACES + places,
        maximum=maximum,
        default=default,
    )


def text_value(
    row: Mapping[str, object], column: str, *, max_length: int, is_required: bool = False
) -> str:
    value = row.get(column)
    text = "" if value is None else str(value).strip()
    if is_required and not text:
        raise Malformed(f"{column} is {'missing' if value is None else 'empty'}")
    if len(text) > max_length:
        raise Malformed(f"{column} is longer than {max_length} characters")
    return text


def boolean_value(row: Mapping[str, object], column: str, *, default: bool) -> bool:
    value = row.get(column)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise Malformed(f"{column} {value!r} is neither true nor false")


def moment_value(
    row: Mapping[str, object], column: str, *, zone: ZoneInfo, default: datetime
) -> datetime:
    value = row.get(column)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip()) or parse_date(value.strip()) or value
        except ValueError:  # well formed, but no such day or hour
            raise Malformed(f"{column} {value!r} is not a date") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else make_aware(value, zone)
    if isinstance(value, date):
        return make_aware(datetime.combine(value, time()), zone)
    raise Malformed(f"{column} {value!r} is not a date")


def reference_value(row: Mapping[str, object], column: str) -> int | None:
    value = row.get(column)
    if value is None or isinstance(value, int):
        return value
    raise Malformed(f"{column} {value!r} is not an id")


@contextmanager
def reading_row(label: str) -> Iterator[None]:
    """Name the row in a problem found while reading it."""
    try:
        yield
    except Malformed as problem:
        raise Malformed(f"{label}: {problem}") from None
