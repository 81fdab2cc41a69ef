"""Every write to users, stores and memberships, onboarding included."""

import logging
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from sales.services import MAIN_REGISTER_NAME, register_create
from stores import naming
from stores.models import Membership, Store, User
from stores.validators import validate_currency, validate_time_zone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signup:
    store: Store
    user: User


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    """A new user; 400-style field errors for a taken email or a weak password."""
    email = User.objects.normalize_email(email)
    candidate = User(email=email, full_name=full_name)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError as error:  # the same email signed up concurrently
        raise ValidationError({"email": ["A user with this email already exists."]}) from error
    return candidate


SLUG_ATTEMPTS = 5


def _lock_slug(base: str) -> None:
    """Serialize onboardings that want the same slug until their transactions end."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kassa.store-slug:{base}"])


def _free_slug(base: str) -> str:
    """`base`, or `base-2`, `base-3`, … : the first whose slug and schema name are both unused."""
    taken_slugs = set(
        Store.objects.filter(slug__regex=rf"^{base}(-[0-9]+)?$").values_list("slug", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname ~ %s",
            [rf"^{naming.schema_name_for(base)}(_[0-9]+)?$"],
        )
        taken_schemas = {row[0] for row in cursor.fetchall()}
    number = 1
    while True:
        slug = naming.numbered_slug(base, number)
        if slug not in taken_slugs and naming.schema_name_for(slug) not in taken_schemas:
            return slug
        number += 1


def _store_insert(*, name: str, **fields: object) -> Store:
    """The store row, under the first free slug.

    Same-name onboardings wait for each other on an advisory lock; a different name can still
    claim the same slug ("Test Shop" wants test-shop-2, "Test Shop 2" wants it too), so a
    unique violation is retried with the next free slug.
    """
    base = naming.base_slug(name)
    _lock_slug(base)
    for _attempt in range(SLUG_ATTEMPTS):
        slug = _free_slug(base)
        store = Store(
            name=name,
            slug=slug,
            schema_name=naming.schema_name_for(slug),
            tenant_key=naming.new_tenant_key(slug),
            **fields,
        )
        store.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                store.save()
        except IntegrityError:
            continue
        return store
    raise IntegrityError(f"no free slug for {base!r} after {SLUG_ATTEMPTS} attempts")


@transaction.atomic
def store_onboard(
    *,
    owner: User,
    name: str,
    currency: str,
    timezone: str,
    prices_include_tax: bool = True,
) -> Store:
    """A store with its schema (every tenant table), its owner and its "Main register".

    One transaction: PostgreSQL's DDL is transactional, so a failure anywhere, even halfway
    through the schema's migrations, leaves no row and no schema behind.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"store_name": ["A store needs a name."]})
    for field, validator, value in (
        ("currency", validate_currency, currency),
        ("timezone", validate_time_zone, timezone),
    ):
        try:
            validator(value)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from error

    store = _store_insert(
        name=name, currency=currency, timezone=timezone, prices_include_tax=prices_include_tax
    )
    try:
        store.create_schema(check_if_exists=False, verbosity=0)
    finally:
        # django-tenants leaves the connection in the new schema when a migration fails.
        connection.set_schema_to_public()
    Membership.objects.create(user=owner, store=store, role=Membership.Role.OWNER)
    with tenant_context(store):
        register_create(name=MAIN_REGISTER_NAME)
    logger.info("store onboarded", extra={"store": store.tenant_key, "schema": store.schema_name})
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
