"""core.money and core.fields.MoneyField: a currency's places, the one rounding, the API's form."""

from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context
from rest_framework.exceptions import ValidationError

from core.fields import MoneyField
from core.money import (
    MONEY_MAX,
    active_currency,
    column_max,
    currency_places,
    format_money,
    quantize_money,
)
from customers.models import Customer


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("EUR", 2),
        ("USD", 2),
        ("RUB", 2),
        ("KWD", 3),
        ("BHD", 3),
        ("OMR", 3),
        ("CLF", 4),
    ],
)
def test_a_currencys_places_come_from_cldr(currency: str, places: int) -> None:
    assert currency_places(currency) == places


@pytest.mark.parametrize(
    ("value", "currency", "rounded"),
    [
        ("0.5", "JPY", "1"),
        ("1.4999", "JPY", "1"),
        ("2.5", "JPY", "3"),  # half-up, not to even
        ("0.005", "EUR", "0.01"),
        ("0.0049", "EUR", "0.00"),
        ("2.675", "EUR", "2.68"),
        ("0.0005", "KWD", "0.001"),
        ("1.2554", "KWD", "1.255"),
        ("1.2555", "KWD", "1.256"),
    ],
)
def test_quantize_money_rounds_half_up_to_the_currencys_unit(
    value: str, currency: str, rounded: str
) -> None:
    result = quantize_money(Decimal(value), currency)

    assert str(result) == rounded


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        ("1055.0000", "JPY", "1055"),
        ("12.5000", "EUR", "12.50"),
        ("1.2550", "KWD", "1.255"),
        ("0", "KWD", "0.000"),
        ("9999999999.9999", "CLF", "9999999999.9999"),
    ],
)
def test_format_money_shows_exactly_the_currencys_places(
    value: str, currency: str, shown: str
) -> None:
    assert format_money(Decimal(value), currency) == shown


def test_the_money_columns_hold_ten_whole_digits_at_four_places() -> None:
    assert Decimal("9999999999.9999") == MONEY_MAX
    assert column_max(Customer._meta.get_field("total_spent")) == Decimal("999999999999.9999")


@pytest.mark.parametrize(
    ("currency", "sent", "value"),
    [
        ("JPY", "1055", Decimal("1055")),
        ("EUR", "12.5", Decimal("12.50")),
        ("KWD", "1.255", Decimal("1.255")),
        ("KWD", 2, Decimal("2.000")),
    ],
)
def test_money_field_reads_amounts_in_the_stores_currency(
    store_a, currency: str, sent: object, value: Decimal
) -> None:
    store_a.store.currency = currency
    with tenant_context(store_a.store):
        read = MoneyField().run_validation(sent)
        shown = MoneyField().to_representation(read)

    assert read == value
    assert str(read) == str(value)
    assert shown == str(value)


@pytest.mark.parametrize(
    ("currency", "sent", "message"),
    [
        ("JPY", "105.50", "JPY amounts have at most 0 decimal places."),
        ("EUR", "1.001", "EUR amounts have at most 2 decimal places."),
        ("KWD", "1.2555", "KWD amounts have at most 3 decimal places."),
        ("EUR", "1e3", "A valid number is required."),
        ("EUR", "12345678901", "Ensure that there are no more than 10 digits before the "),
    ],
)
def test_money_field_refuses_what_the_currency_cannot_hold(
    store_a, currency: str, sent: str, message: str
) -> None:
    store_a.store.currency = currency
    with tenant_context(store_a.store), pytest.raises(ValidationError) as refused:
        MoneyField().run_validation(sent)

    assert str(refused.value.detail[0]).startswith(message)


def test_no_currency_is_active_outside_a_store(store_a) -> None:
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError, match="No store with a currency"):
        active_currency()
    # a schema named alone carries no store, so no currency either
    with schema_context(store_a.store.schema_name), pytest.raises(RuntimeError):
        active_currency()
