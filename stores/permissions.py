"""DRF permissions for store-scoped views: the caller must be a member of the store, in a role."""

from collections.abc import Iterable

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from stores.exceptions import NotAMember, RoleNotAllowed, TenantNotFound, TenantRequired
from stores.models import Membership
from stores.tenancy import activate_fresh_store

Role = Membership.Role
EVERY_ROLE: frozenset[str] = frozenset(Role.values)
OWNER_OR_MANAGER: frozenset[str] = frozenset({Role.OWNER, Role.MANAGER})
OWNER_ONLY: frozenset[str] = frozenset({Role.OWNER})


def store_membership(request: Request) -> Membership:
    """The caller's active membership in the request's store; raises the contract's errors."""
    cached = getattr(request, "membership", None)
    if cached is not None:
        return cached
    tenant_error = getattr(request, "tenant_error", None)
    if tenant_error is not None:
        raise tenant_error()
    store = getattr(request, "store", None)
    if store is None:  # a store-scoped view that the middleware did not see
        raise TenantRequired
    # The store comes along, fresh, in the same query: the cached row only found the schema,
    # so a store deactivated or changed in any process is held to at once, whatever the cache.
    membership = (
        Membership.objects.filter(user_id=request.user.pk, store_id=store.pk, is_active=True)
        .select_related("store")
        .first()
    )
    if membership is None:
        raise NotAMember
    if not membership.store.is_active:
        raise TenantNotFound
    activate_fresh_store(request, membership.store)
    # Kept on Django's request, which DRF's proxies: the middleware reads it too.
    request._request.membership = membership
    return membership


class StoreRolePermission(BasePermission):
    """A member of the active store whose role may read (safe methods) or write (the others)."""

    read_roles: frozenset[str] = EVERY_ROLE
    write_roles: frozenset[str] = EVERY_ROLE

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 before any store rule applies
        membership = store_membership(request)
        allowed = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        if membership.role not in allowed:
            raise RoleNotAllowed
        return True

    @classmethod
    def describe(cls) -> str:
        """The roles, in words, for the OpenAPI description of each operation."""

        def names(roles: frozenset[str]) -> str:
            return ", ".join(role for role in Role.values if role in roles)

        if cls.read_roles == cls.write_roles:
            return f"Roles: {names(cls.read_roles)}."
        return f"Roles: read {names(cls.read_roles)}; write {names(cls.write_roles)}."


def store_roles(
    *, read: Iterable[str] = EVERY_ROLE, write: Iterable[str] | None = None
) -> type[StoreRolePermission]:
    """A permission class allowing `read` roles on safe methods and `write` roles on the others.

    `store_roles(read=EVERY_ROLE, write=OWNER_OR_MANAGER)` reads as the contract's role table.
    """
    read_roles = frozenset(read)
    write_roles = read_roles if write is None else frozenset(write)
    return type(
        "StoreRoles",
        (StoreRolePermission,),
        {"read_roles": read_roles, "write_roles": write_roles, "__module__": __name__},
    )
