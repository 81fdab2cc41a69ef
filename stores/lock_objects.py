"""Querysets that take row locks on shared tables, always in primary-key order."""

from django.db.models import QuerySet

from stores.models import Membership, Store


def owner_memberships_for_update(*, store: Store) -> QuerySet[Membership]:
    """The store's active owner memberships, locked: owners leave or are demoted one at a time."""
    return (
        Membership.objects.filter(store=store, role=Membership.Role.OWNER, is_active=True)
        .order_by("pk")
        .select_for_update()
    )
