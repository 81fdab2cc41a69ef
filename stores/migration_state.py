"""Which store schemas are behind the code's migrations, found with one query for all of them."""

from collections.abc import Iterable

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name


def expected_migrations() -> frozenset[tuple[str, str]]:
    """Every migration of the code. A store schema records all of them once migrated (the
    router skips the shared apps' operations, but Django records those migrations too)."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def _with_migration_table(schema_names: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace AS n JOIN pg_class AS c "
            "ON c.relnamespace = n.oid AND c.relname = 'django_migrations' AND c.relkind = 'r' "
            "WHERE n.nspname = ANY(%s) AND n.nspname <> %s",
            [schema_names, get_public_schema_name()],
        )
        return [row[0] for row in cursor.fetchall()]


def applied_migrations(schema_names: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
    """Each schema's applied migrations (none when it has no table for them), in two queries."""
    applied: dict[str, set[tuple[str, str]]] = {name: set() for name in schema_names}
    names = _with_migration_table(list(applied))
    if not names:
        return applied
    quote = connection.ops.quote_name
    union = " UNION ALL ".join(
        f"SELECT %s, app, name FROM {quote(name)}.django_migrations"  # noqa: S608 - quoted names
        for name in names
    )
    with connection.cursor() as cursor:
        cursor.execute(union, names)
        for schema_name, app, name in cursor.fetchall():
            applied[schema_name].add((app, name))
    return applied


def schemas_behind(schema_names: Iterable[str]) -> list[str]:
    """The schemas among `schema_names` missing any of the code's migrations."""
    expected = expected_migrations()
    return [name for name, done in applied_migrations(schema_names).items() if not expected <= done]
