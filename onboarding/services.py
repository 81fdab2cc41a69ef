"""Signing a store up: the user, the store, its schema, its owner and its "Main register".

One flow over the apps it combines, in one transaction: PostgreSQL's DDL is transactional, so a
failure anywhere, even halfway through making the schema, leaves no user, no store row and no
schema behind.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import tenant_context

from sales.services import MAIN_REGISTER_NAME, register_create
from stores.models import Membership, Store, User
from stores.provisioning import store_schema_create
from stores.services import membership_create, store_create, user_create
from stores.tasks import spares_refill_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signup:
    store: Store
    user: User


@transaction.atomic
def store_onboard(
    *,
    owner: User,
    name: str,
    currency: str,
    timezone: str,
    prices_include_tax: bool = True,
) -> Store:
    """A store with its schema (every tenant table), its owner and its "Main register"."""
    store = store_create(
        name=name, currency=currency, timezone=timezone, prices_include_tax=prices_include_tax
    )
    schema_from = store_schema_create(store=store)
    # A spare schema may have been taken: the pool is topped up once this commits.
    spares_refill_enqueue()
    membership_create(store=store, user=owner, role=Membership.Role.OWNER)
    with tenant_context(store):
        register_create(name=MAIN_REGISTER_NAME)
    logger.info(
        "store onboarded",
        extra={"store": store.tenant_key, "schema": store.schema_name, "schema_from": schema_from},
    )
    return store


@transaction.atomic
def store_signup(
    *,
    user: User | None,
    name: str,
    currency: str,
    timezone: str,
    prices_include_tax: bool = True,
    owner_email: str = "",
    owner_password: str = "",
    owner_full_name: str = "",
) -> Signup:
    """Onboarding as the signup endpoint offers it: for the signed-in `user`, or a new owner."""
    if user is None:
        user = user_create(email=owner_email, password=owner_password, full_name=owner_full_name)
    store = store_onboard(
        owner=user,
        name=name,
        currency=currency,
        timezone=timezone,
        prices_include_tax=prices_include_tax,
    )
    return Signup(store=store, user=user)
