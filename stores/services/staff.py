"""A store's staff: memberships made, their roles changed, suspended or removed; a store always
keeps an active owner."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stores.exceptions import AlreadyAMember, LastOwner
from stores.lock_objects import owner_memberships_for_update
from stores.models import Membership, Store, User


@transaction.atomic
def membership_create(*, store: Store, user: User, role: str) -> Membership:
    """Make `user` a member of `store` in `role`: onboarding's owner, an accepted invitation.

    A suspended member is made active again in the new role; an active one is refused (409
    `already_a_member`). The user has store history from now on (Membership.save).
    """
    validate_role(role)
    membership = Membership.objects.select_for_update().filter(user=user, store=store).first()
    if membership is None:
        try:
            with transaction.atomic():
                return Membership.objects.create(user=user, store=store, role=role)
        except IntegrityError as error:  # joined concurrently (two invitations accepted at once)
            raise AlreadyAMember from error
    if membership.is_active:
        raise AlreadyAMember
    membership.role, membership.is_active = role, True
    membership.save(update_fields=["role", "is_active"])
    return membership


def validate_role(role: str | None) -> None:
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
def staff_update(
    *, membership: Membership, role: str | None = None, is_active: bool | None = None
) -> Membership:
    """Change a member's role or suspend them; the last owner stays an active owner."""
    validate_role(role)
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
