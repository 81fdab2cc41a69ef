"""Validators for store settings: ISO 4217 currencies, IANA time zones, CLDR locales."""

import zoneinfo
from functools import cache

import pycountry
from babel import Locale, UnknownLocaleError
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


def normalize_locale(name: str) -> str:
    """A CLDR locale's canonical name ("de-ch" -> "de_CH"); ValidationError when Babel has none."""
    try:
        return str(Locale.parse(name.replace("-", "_"), sep="_"))
    except (UnknownLocaleError, ValueError, TypeError) as error:
        raise ValidationError(f"'{name}' is not a known locale.", code="invalid_locale") from error


def validate_locale(name: str) -> None:
    normalize_locale(name)
