"""Header tenancy: `X-Tenant-Key` picks the store whose schema a store-scoped request runs in."""

import logging
from collections.abc import Callable
from urllib.parse import quote

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from core import logging as log_context
from core.database.errors import TRANSACTION, SchemaMissing
from core.exceptions import StoreUnavailable
from stores.exceptions import TenantNotFound, TenantRequired
from stores.tenancy import store_for_tenant_key

TENANT_HEADER = "X-Tenant-Key"

logger = logging.getLogger(__name__)


class TenantHeaderMiddleware:
    """Activates the store named by `X-Tenant-Key` for store-scoped views.

    The connection is in `public` when the request starts and is put back there when it ends,
    whatever happened, so a persistent connection never carries a store into the next request.
    The store's headers go only on answers to its members. Errors are not answered here but
    recorded on the request: the view's permission classes raise
    them after authentication, so an anonymous caller gets 401 before any tenant rule.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        connection.set_schema_to_public()
        request.store = None
        request.tenant_error = None
        request.membership = None
        try:
            response = self.get_response(request)
            # Only a verified member learns which store a key belongs to.
            if request.store is not None and request.membership is not None:
                store = request.store
                response[TENANT_HEADER] = store.tenant_key
                response["X-Store-Slug"] = store.slug
                response["X-Store-Name"] = quote(store.name, safe="")
                patch_vary_headers(response, (TENANT_HEADER, "Authorization"))
            return response
        finally:
            connection.set_schema_to_public()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A store whose schema is found missing as the view starts (under transaction pooling
        the path is checked with the transaction's first statement): 503, never `public`."""
        if not isinstance(exception, SchemaMissing):
            return None
        logger.error("store schema missing", extra={"schema": exception.schema_name})
        connection.set_schema_to_public()
        unavailable = StoreUnavailable()
        return JsonResponse(
            {"detail": str(unavailable.detail), "code": unavailable.default_code},
            status=unavailable.status_code,
        )

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[object, ...],
        view_kwargs: dict[str, object],
    ) -> None:
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if not getattr(view_class, "is_store_scoped", False):
            return
        tenant_key = request.headers.get(TENANT_HEADER)
        if not tenant_key:
            request.tenant_error = TenantRequired
            return
        store = store_for_tenant_key(tenant_key)
        if store is None:
            request.tenant_error = TenantNotFound
            return
        request.store = request.tenant = store
        log_context.store.set(store.tenant_key)
        connection.set_tenant(store)
        if connection.pool_mode == TRANSACTION:
            return  # the path is the first statement of the request's transaction
        # Issue the one `SET search_path` of this request now, in autocommit: a SET made inside a
        # transaction or savepoint that is later rolled back would silently revert.
        try:
            connection.cursor().close()
        except SchemaMissing:
            # Never run in `public` instead: its tables may be another system's (legacy data).
            logger.exception(
                "store schema missing",
                extra={"store": store.tenant_key, "schema": store.schema_name},
            )
            connection.set_schema_to_public()
            request.store = request.tenant = None
            request.tenant_error = StoreUnavailable
        return
