"""OpenAPI generation: the tenant header, the roles and the error answers of every operation."""

from decimal import Decimal

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


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

    def _get_serializer_field_meta(self, field: serializers.Field, direction: str) -> dict:
        meta = super()._get_serializer_field_meta(field, direction)
        # A decimal is a string in this API, its default too (a money field cannot show one
        # in its currency's places without a store, so drf-spectacular left it a Decimal).
        if isinstance(meta.get("default"), Decimal):
            meta["default"] = format(meta["default"], "f")
        return meta

    def _map_serializer_field(
        self, field: serializers.Field, direction: str, **kwargs: object
    ) -> dict:
        schema = super()._map_serializer_field(field, direction, **kwargs)
        # A list of nested objects (a sale's lines) says how many it takes; DRF keeps the bounds
        # on the list serializer itself, where drf-spectacular does not look.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            if field.min_length is not None or not field.allow_empty:
                schema["minItems"] = max(field.min_length or 0, 0 if field.allow_empty else 1)
        return schema

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


def describe_pages(result: dict, generator: object, request: object, public: bool) -> dict:
    """A postprocessing hook: the paginated list components get a description too."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if (
            name.startswith("Paginated")
            and name.endswith("List")
            and not component.get("description")
        ):
            item = component["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
            component["description"] = (
                f"A page of `{item}` items: `count` of all of them, the URLs of the `next` and "
                "`previous` pages (null at either end), and this page's `results`."
            )
    return result
