"""Serializer fields shared by the apps: bounded ids and days, plain-notation decimals, and
money in the store's currency."""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.money import (
    MONEY_DIGITS,
    MONEY_PLACES,
    active_currency,
    currency_places,
    format_money,
    places_of,
    quantize_money,
)

PLAIN_DECIMAL = re.compile(r"\A\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*\Z")
# Every id is a PostgreSQL bigint (BigAutoField): one beyond it can name nothing.
BIGINT_MAX = 2**63 - 1
# Days the API takes: wide of any shop's history, narrow enough that a day and the store's
# midnights on either side of it are always representable (9999-12-31 + 1 day is not).
DAY_MIN = date(1900, 1, 1)
DAY_MAX = date(9998, 12, 31)


class IdField(serializers.IntegerField):
    """An object's id in a body: a whole number from 1 to the largest bigint."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


def validate_day(day: date) -> None:
    """A day the API takes: from DAY_MIN to DAY_MAX."""
    if not DAY_MIN <= day <= DAY_MAX:
        raise DjangoValidationError(f"Days run from {DAY_MIN} to {DAY_MAX}.", code="day_range")


class DayField(serializers.DateField):
    """A day, YYYY-MM-DD, from DAY_MIN to DAY_MAX."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [validate_day])
        super().__init__(**kwargs)


class PlainDecimalField(serializers.DecimalField):
    """A DecimalField that takes only plain notation: "12.50", "-2", 3, 2.5; never "1e5", "NaN".

    Money and quantities typed at a till are never meant in exponent notation, and DRF's own
    field would read "1e5" as 100000.
    """

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or (
            not isinstance(data, int | float) and not PLAIN_DECIMAL.match(str(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class MoneyField(PlainDecimalField):
    """An amount in the active store's currency (`core.money`).

    In: plain notation with at most the currency's minor-unit places ("105.50" is refused in
    yen, "1.2555" in dinars). Out: exactly the currency's places ("1055", "12.50", "1.255").
    """

    default_error_messages = {
        "currency_places": "{currency} amounts have at most {places} decimal places.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_PLACES)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        value = super().to_internal_value(data)  # plain notation, within the column's digits
        currency = active_currency()
        places = currency_places(currency)
        if places_of(Decimal(str(data).strip())) > places:
            self.fail("currency_places", currency=currency, places=places)
        return quantize_money(value, currency)  # exact: it has no more places than that

    def to_representation(self, value: Any) -> str:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        return format_money(amount, active_currency())
