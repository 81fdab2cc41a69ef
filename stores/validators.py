"""Validators for store settings: ISO 4217 currencies and IANA time zones."""

import zoneinfo
from functools import cache

import pycountry
from django.core.exceptions import ValidationError


@cache
def _currency_codes() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_currency(code: str) -> None:
    if code not in _currency_codes():
        raise ValidationError(
            f"'{code}' is not an ISO 4217 currency code.", code="invalid_currency"
        )


def validate_time_zone(name: str) -> None:
    if name not in _time_zones():
        raise ValidationError(f"'{name}' is not an IANA time zone.", code="invalid_timezone")
