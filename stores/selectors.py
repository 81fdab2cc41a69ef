"""Reads of users' stores and memberships."""

from django.db.models import QuerySet

from stores.models import Membership, User


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's active memberships in active stores, with their stores, oldest store first."""
    return (
        Membership.objects.filter(user=user, is_active=True, store__is_active=True)
        .select_related("store")
        .order_by("store_id")
    )
