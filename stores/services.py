"""Every write to users, stores and memberships (onboarding combines them: see `onboarding`)."""

import logging

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from core.derived import days_changed
from stores import naming
from stores.exceptions import AlreadyAMember, LastOwner
from stores.lock_objects import owner_memberships_for_update
from stores.models import Membership, Store, User
from stores.validators import validate_currency, validate_time_zone

logger = logging.getLogger(__name__)


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


def membership_create(*, store: Store, user: User, role: str) -> Membership:
    """Make `user` a member of `store` in `role` (onboarding's owner; invitations accepted)."""
    _check_role(role)
    return Membership.objects.create(user=user, store=store, role=role)


def _check_role(role: str | None) -> None:
    if role is not None and role not in Membership.Role.values:
        raise ValidationError(
            {"role": [f"'{role}' is not one of {', '.join(Membership.Role.values)}."]}
        )


def _keep_an_owner(*, membership: Membership) -> None:
    """Refuse when `membership` is the store's last active owner (owners locked meanwhile)."""
    owners = list(owner_memberships_for_update(store=membership.store))
    if not any(owner.pk != membership.pk for owner in owners):
        raise LastOwner


@transaction.atomic
def staff_add(
    *, store: Store, email: str, role: str, full_name: str = "", password: str = ""
) -> Membership:
    """Make a user staff of `store`: an existing user found by email, or a new one."""
    _check_role(role)
    email = User.objects.normalize_email(email)
    # Locked: two requests adding the same person wait for each other, and the second is told.
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        if not password:
            raise ValidationError({"password": ["Required to create a new user."]})
        user = user_create(email=email, password=password, full_name=full_name)
    membership = Membership.objects.filter(user=user, store=store).first()
    if membership is None:
        return Membership.objects.create(user=user, store=store, role=role)
    if membership.is_active:
        raise AlreadyAMember
    membership.role, membership.is_active = role, True
    membership.save(update_fields=["role", "is_active"])
    return membership


@transaction.atomic
def staff_update(
    *, membership: Membership, role: str | None = None, is_active: bool | None = None
) -> Membership:
    """Change a member's role or suspend them; the last owner stays an active owner."""
    _check_role(role)
    stays_owner = (role in (None, Membership.Role.OWNER)) and is_active is not False
    if membership.role == Membership.Role.OWNER and membership.is_active and not stays_owner:
        _keep_an_owner(membership=membership)
    changed = []
    if role is not None:
        membership.role = role
        changed.append("role")
    if is_active is not None:
        membership.is_active = is_active
        changed.append("is_active")
    if changed:
        membership.save(update_fields=changed)
    return membership


@transaction.atomic
def staff_remove(*, membership: Membership) -> None:
    """Remove a member: their token stops working in this store on their next request."""
    if membership.role == Membership.Role.OWNER and membership.is_active:
        _keep_an_owner(membership=membership)
    membership.delete()


@transaction.atomic
def store_update(
    *,
    store: Store,
    name: str | None = None,
    timezone: str | None = None,
    prices_include_tax: bool | None = None,
    allow_negative_stock: bool | None = None,
) -> Store:
    """Change a store's settings; its slug, schema, key and currency never change."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    changes = {
        "name": name.strip() if name is not None else None,
        "timezone": timezone,
        "prices_include_tax": prices_include_tax,
        "allow_negative_stock": allow_negative_stock,
    }
    changes = {field: value for field, value in changes.items() if value is not None}
    if "name" in changes and not changes["name"]:
        raise ValidationError({"name": ["A store needs a name."]})
    if "timezone" in changes:
        try:
            validate_time_zone(changes["timezone"])
        except ValidationError as error:
            raise ValidationError({"timezone": error.messages}) from error
    moved_days = "timezone" in changes and changes["timezone"] != store.timezone
    for field, value in changes.items():
        setattr(store, field, value)
    if changes:
        store.save(update_fields=list(changes))
    if moved_days:
        # Every sale's local day may have moved: what is derived from days is rebuilt.
        with tenant_context(store):
            days_changed(days=None)
    return store
