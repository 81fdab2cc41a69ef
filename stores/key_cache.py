"""The tenant-key registry's entries in the shared cache: which store a key names.

Apart from `stores.tenancy`, which reads them, so that the Store model can forget itself on
every save without importing the module that imports it.
"""

from django.core.cache import caches


def cache_key(tenant_key: str) -> str:
    return f"tenant-key:{tenant_key}"


def forget_store(tenant_key: str) -> None:
    caches["shared"].delete(cache_key(tenant_key))
