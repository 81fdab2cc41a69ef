"""OpenAPI generation: the tenant header, the roles and the error answers of every operation."""

from drf_spectacular.openapi import AutoSchema

from stores.permissions import StoreRolePermission

ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


class KassaAutoSchema(AutoSchema):
    """Adds to drf-spectacular's schema what Kassa's conventions make true of every operation.

    A view may list more answers in `error_responses` (`{401: "description"}`).
    """

    def _is_store_scoped(self) -> bool:
        return bool(getattr(self.view, "is_store_scoped", False))

    def _role_permissions(self) -> list[type[StoreRolePermission]]:
        return [
            type(permission)
            for permission in self.view.get_permissions()
            if isinstance(permission, StoreRolePermission)
        ]

    def get_auth(self) -> list[dict]:
        auth = super().get_auth()
        if not self._is_store_scoped():
            return auth
        # Store-scoped: a Bearer token and the store's key, together.
        return [{**requirement, "tenantKey": []} for requirement in auth if requirement]

    def get_description(self) -> str:
        description = super().get_description()
        roles = " ".join(permission.describe() for permission in self._role_permissions())
        if roles:
            description = f"{description}\n\n{roles}" if description else roles
        return description

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        extra = {}
        if self.method in {"POST", "PUT", "PATCH"} or self._is_store_scoped():
            extra["400"] = _error_response(
                'Invalid input (`{"field": ["message"]}`), or `tenant_required`.'
            )
        if getattr(self.view, "authentication_classes", None):
            extra["401"] = _error_response("Missing or invalid Bearer token.")
        for code, description in getattr(self.view, "error_responses", {}).items():
            extra[str(code)] = _error_response(description)
        if self._is_store_scoped():
            extra["403"] = _error_response("`not_a_member`, or `permission_denied` for this role.")
            extra["404"] = _error_response("`tenant_not_found`, or no such object in this store.")
        if getattr(self.view, "throttle_classes", None):
            extra["429"] = _error_response("Too many requests; see `Retry-After`.")
        return {**extra, **responses}
