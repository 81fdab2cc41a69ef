"""Every write to a store's customers. Purchase aggregates are kept by the sales services."""

from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from customers.exceptions import CustomerHasSales
from customers.models import Customer


@transaction.atomic
def customer_create(**fields: Any) -> Customer:
    customer = Customer(**fields)
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    for field, value in fields.items():
        setattr(customer, field, value)
    customer.full_clean()
    customer.save(update_fields=list(fields))
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Delete a customer who never bought anything; one with sales stays (409)."""
    try:
        with transaction.atomic():
            customer.delete()
    except ProtectedError as error:
        raise CustomerHasSales from error
