"""Every write to users, stores, memberships and invitations (onboarding combines them).

`users` makes accounts and deletes or deactivates them, `store` makes a store's row and changes
its settings, `staff` keeps its memberships and `invitations` is how people join.
"""

from stores.services.invitations import (
    Issued,
    Joined,
    invitation_accept,
    invitation_create,
    invitation_revoke,
)
from stores.services.staff import membership_create, staff_remove, staff_update
from stores.services.store import store_create, store_update
from stores.services.users import user_create, user_delete

__all__ = [
    "Issued",
    "Joined",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "membership_create",
    "staff_remove",
    "staff_update",
    "store_create",
    "store_update",
    "user_create",
    "user_delete",
]
