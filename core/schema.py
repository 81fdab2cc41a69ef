"""OpenAPI generation: the tenant header, the roles and the error answers of every operation."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema


class KassaJWTScheme(SimpleJWTScheme):
    """Kassa's JWT authentication (simplejwt's, naming the user in logs) is the `jwtAuth` scheme."""

    target_class = "core.authentication.JWTAuthentication"


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class KassaAutoSchema(AutoSchema):
    """Adds to drf-spectacular's schema what Kassa's conventions make true of every operation.

    A view acts in a store when it says `is_store_scoped`; a permission class that describes
    its roles (`describe()`) has them written into the operation's description. A view may list
    more answers in `error_responses` (`{401: "description"}`); every 4xx answer
    documented without a body gets the `Error` body.
    """

    def _is_store_scoped(self) -> bool:
        return bool(getattr(self.view, "is_store_scoped", False))

    def get_auth(self) -> list[dict]:
        auth = super().get_auth()
        if not self._is_store_scoped():
            return auth
        # Store-scoped: a Bearer token and the store's key, together.
        return [{**requirement, "tenantKey": []} for requirement in auth if requirement]

    def _roles(self) -> str:
        """What the view's role permissions say of themselves (their `describe()`)."""
        return " ".join(
            type(permission).describe()
            for permission in self.view.get_permissions()
            if callable(getattr(type(permission), "describe", None))
        )

    def _error_responses(self) -> dict[str, str]:
        errors = {}
        if self.method in {"POST", "PUT", "PATCH"} or self._is_store_scoped():
            errors["400"] = 'Invalid input (`{"field": ["message"]}`), or `tenant_required`.'
        if getattr(self.view, "authentication_classes", None):
            errors["401"] = "Missing or invalid Bearer token."
        if self._is_store_scoped():
            errors["403"] = "`not_a_member`, or `permission_denied` for this role."
            errors["404"] = "`tenant_not_found`, or no such object in this store."
        elif self._is_list_view() and getattr(self.view, "pagination_class", None):
            errors["404"] = "No such page."
        if getattr(self.view, "throttle_classes", None):
            errors["429"] = "Too many requests; see `Retry-After`."
        for code, description in getattr(self.view, "error_responses", {}).items():
            errors[str(code)] = description
        return errors

    def get_operation(self, *args: object, **kwargs: object) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        roles = self._roles()
        if roles:
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\n{roles}" if description else roles
        responses = operation.setdefault("responses", {})
        for code, description in self._error_responses().items():
            responses.setdefault(code, {"description": description})
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = ERROR_CONTENT
        return operation
