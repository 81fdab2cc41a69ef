"""Which store a request acts in: the cached tenant-key registry and the store-scoped mixin."""

import re

from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from stores.key_cache import cache_key
from stores.models import Store

# tenant keys are `<slug with underscores>_<8 hex>`; anything else is rejected before any lookup.
TENANT_KEY_PATTERN = re.compile(r"\A[a-z0-9_]{1,64}\Z")
# Unknown keys are remembered briefly: a flood of made-up keys must not become a flood of queries.
UNKNOWN_KEY_SECONDS = 30
_UNKNOWN = "unknown"


def store_for_tenant_key(tenant_key: str) -> Store | None:
    """The active store with this key, or None; no query when the cache is warm."""
    if not TENANT_KEY_PATTERN.match(tenant_key):
        return None
    cache = caches["shared"]
    cached = cache.get(cache_key(tenant_key))
    if cached is None:
        store = Store.objects.filter(tenant_key=tenant_key).first()
        cached = store if store is not None else _UNKNOWN
        if store is None:
            cache.set(cache_key(tenant_key), cached, timeout=UNKNOWN_KEY_SECONDS)
        else:
            cache.set(cache_key(tenant_key), cached)  # for STORE_CACHE_SECONDS
    if cached == _UNKNOWN or not cached.is_active:
        return None
    return cached


def activate_fresh_store(request: HttpRequest, store: Store) -> None:
    """Make the request's store the row just read from the database (its settings as they are
    now), in place of the cached one the middleware found the schema with.

    Same schema: the connection keeps its search path, and only the store object changes. A
    schema renamed meanwhile (doctor) is switched to, with a new `SET`.
    """
    if store.schema_name == connection.schema_name:
        connection.tenant = store
    else:
        connection.set_tenant(store)
    request.store = request.tenant = store
    django_request = getattr(request, "_request", request)  # DRF's Request, or Django's
    django_request.store = django_request.tenant = store


class StoreScopedViewMixin:
    """Marks a view as acting inside the store named by `X-Tenant-Key`.

    TenantHeaderMiddleware activates that store's schema before the view runs; the view's
    permission classes (stores.permissions) then check membership and role.
    """

    is_store_scoped = True


def current_store() -> Store:
    """The store whose schema the connection is in (a request's, a task's, a command's)."""
    tenant = connection.tenant
    if isinstance(tenant, Store):
        return tenant
    if tenant.schema_name == get_public_schema_name():
        raise RuntimeError("No store is active on this connection.")
    # schema_context() activates a name only; tenant_context() and requests carry the store.
    return Store.objects.get(schema_name=tenant.schema_name)
