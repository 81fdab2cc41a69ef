"""Money: Decimal only, in the store currency's minor units, rounded half-up in one place.

A currency's minor-unit places come from Babel's CLDR data (`get_currency_precision`): JPY and
KRW 0, EUR and USD 2, KWD, BHD and OMR 3, CLF 4. Every money column keeps four places, the most
any currency has, so an amount is stored exactly whatever the store's currency; what a store
accepts and shows is its currency's own places (`core.fields.MoneyField`).
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from babel.numbers import get_currency_precision
from django.db import connection, models

ZERO = Decimal("0")
# The most minor-unit places of any ISO 4217 currency (CLF, UYW), kept by every money column.
MONEY_PLACES = 4
# Ten whole digits, as the columns of two places held before: up to 9 999 999 999.9999.
MONEY_DIGITS = 14


def column_max(column: models.DecimalField) -> Decimal:
    """The largest value a decimal column holds: numeric(14, 4) holds 9 999 999 999.9999."""
    places = column.decimal_places
    return Decimal(10) ** (column.max_digits - places) - Decimal(1).scaleb(-places)


@cache
def currency_places(currency: str) -> int:
    """The minor-unit places of an ISO 4217 currency: 0 for JPY, 2 for EUR, 3 for KWD."""
    return get_currency_precision(currency)


@cache
def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_places(currency))


def quantize_money(value: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half-up (0.005 EUR -> 0.01, 0.5 JPY -> 1)."""
    return value.quantize(_unit(currency), rounding=ROUND_HALF_UP)


def round_to_step(value: Decimal, step: Decimal, currency: str) -> Decimal:
    """Round to a multiple of `step` (cash rounding: 0.05 CHF, 1.00 SEK), half-up, in the
    currency's places; a step of zero leaves the amount as it is."""
    if step <= 0:
        return quantize_money(value, currency)
    steps = (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return quantize_money(steps * step, currency)


def places_of(value: Decimal) -> int:
    """How many decimal places `value` is written with ("12.50" has 2, "1055" has 0)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def format_money(value: Decimal, currency: str) -> str:
    """The amount as the API shows it: plain notation, exactly the currency's places."""
    return format(quantize_money(value, currency), "f")


def active_currency() -> str:
    """The currency of the store the connection is in (django-tenants' `connection.tenant`,
    which a request, `tenant_context` or a task in a store's schema sets)."""
    currency = getattr(connection.tenant, "currency", None)
    if not currency:
        raise RuntimeError("No store with a currency is active on this connection.")
    return currency


class MoneyColumn(models.DecimalField):
    """A money column: four places, whatever the store's currency (see the module's doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_PLACES)
        super().__init__(*args, **kwargs)


MONEY_MAX = column_max(MoneyColumn())
