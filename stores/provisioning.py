"""Store schemas as ops see them: the stores' own, for migrate_schemas and the doctor."""

from django_tenants.utils import get_public_schema_name

from stores.models import Store


def provisioned_schema_names() -> list[str]:
    """Every schema migrate_schemas keeps at the code's migrations: each store's."""
    return list(
        Store.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
