"""A store's row: made under a free slug, its settings changed (its schema: stores.provisioning)."""

import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from core.derived import days_changed
from stores import naming
from stores.models import Store
from stores.validators import normalize_locale, validate_currency, validate_time_zone

logger = logging.getLogger(__name__)

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


@transaction.atomic
def store_create(
    *, name: str, currency: str, timezone: str, prices_include_tax: bool = True
) -> Store:
    """A store's row, under the first free slug; its schema is made by `stores.provisioning`.

    400-style field errors for an empty name, an unknown currency or time zone.

    Same-name onboardings wait for each other on an advisory lock; a different name can still
    claim the same slug ("Test Shop" wants test-shop-2, "Test Shop 2" wants it too), so a
    unique violation is retried with the next free slug.
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
    base = naming.base_slug(name)
    _lock_slug(base)
    for _attempt in range(SLUG_ATTEMPTS):
        slug = _free_slug(base)
        store = Store(
            name=name,
            slug=slug,
            schema_name=naming.schema_name_for(slug),
            tenant_key=naming.new_tenant_key(slug),
            currency=currency,
            timezone=timezone,
            prices_include_tax=prices_include_tax,
        )
        store.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                store.save()
        except IntegrityError:
            continue
        return store
    raise IntegrityError(f"no free slug for {base!r} after {SLUG_ATTEMPTS} attempts")


# A setting not given, where None is a value (no limit).
UNSET = object()


@transaction.atomic
def store_update(
    *,
    store: Store,
    name: str | None = None,
    timezone: str | None = None,
    prices_include_tax: bool | None = None,
    allow_negative_stock: bool | None = None,
    offline_oversell: bool | None = None,
    cash_rounding: Decimal | None = None,
    blind_close: bool | None = None,
    max_cash_difference: Decimal | object | None = UNSET,
    cashier_max_discount_percent: Decimal | None = None,
    locale: str | None = None,
    receipt_header: str | None = None,
    receipt_footer: str | None = None,
    tax_id: str | None = None,
) -> Store:
    """Change a store's settings; its slug, schema, key and currency never change."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    changes = {
        "name": name.strip() if name is not None else None,
        "timezone": timezone,
        "prices_include_tax": prices_include_tax,
        "allow_negative_stock": allow_negative_stock,
        "offline_oversell": offline_oversell,
        "cash_rounding": cash_rounding,
        "blind_close": blind_close,
        "cashier_max_discount_percent": cashier_max_discount_percent,
        "receipt_header": receipt_header,
        "receipt_footer": receipt_footer,
        "tax_id": tax_id.strip() if tax_id is not None else None,
    }
    changes = {field: value for field, value in changes.items() if value is not None}
    if max_cash_difference is not UNSET:  # None is a value here: no limit
        changes["max_cash_difference"] = max_cash_difference
    if "name" in changes and not changes["name"]:
        raise ValidationError({"name": ["A store needs a name."]})
    if "timezone" in changes:
        try:
            validate_time_zone(changes["timezone"])
        except ValidationError as error:
            raise ValidationError({"timezone": error.messages}) from error
    if locale is not None:
        try:
            changes["locale"] = normalize_locale(locale)
        except ValidationError as error:
            raise ValidationError({"locale": error.messages}) from error
    moved_days = "timezone" in changes and changes["timezone"] != store.timezone
    for field, value in changes.items():
        setattr(store, field, value)
    if changes:
        unchanged = [field.name for field in Store._meta.fields if field.name not in changes]
        store.full_clean(exclude=unchanged, validate_unique=False, validate_constraints=False)
        store.save(update_fields=list(changes))
    if moved_days:
        # Every sale's local day may have moved: what is derived from days is rebuilt.
        with tenant_context(store):
            days_changed(days=None)
    return store
