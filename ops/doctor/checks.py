"""What `doctor` checks: a census of the stores and schemas, and the findings each check makes."""

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, quote_schema_name

from core.money import MoneyColumn, currency_places
from ops.citus import is_citus
from sales.models import Register
from sales.receipts.pdf import missing_fonts
from stores import naming
from stores.migration_state import applied_migrations, expected_migrations
from stores.models import Membership, Store

SCHEMA_MISSING = "schema_missing"
ORPHAN_SCHEMA = "orphan_schema"
INVALID_SCHEMA_NAME = "invalid_schema_name"
SCHEMA_BEHIND = "schema_behind"
NO_OWNER = "no_owner"
NO_REGISTER = "no_register"
MONEY_PLACES_EXCEEDED = "money_places"
NOT_DISTRIBUTED = "schema_not_distributed"
SHARDING_OFF = "schema_sharding_off"
RECEIPT_FONTS_MISSING = "receipt_fonts_missing"

# Kassa's own schemas that belong to no store on purpose (a pool of ready schemas, templates).
SERVICE_SCHEMA_PREFIX = "kassa_"
VALID_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
MAX_SCHEMA_NAME_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes (ASCII here)
MIGRATION_TABLE = "django_migrations"
# Every money column kept this many places before currencies had their own.
FORMER_PLACES = 2


@dataclass
class Finding:
    """One thing wrong, and whether this run's `--fix` repairs it (or did)."""

    code: str
    # The store's slug: its tenant key works as a credential in the API, so it is never printed.
    store: str | None
    schema: str
    message: str
    fixable: bool
    fixed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """The findings of a doctor run: repaired ones (`fixed`) and those still there."""

    findings: list[Finding] = field(default_factory=list)
    store_count: int = 0

    @property
    def ok(self) -> bool:
        return all(finding.fixed for finding in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [finding.as_dict() for finding in self.findings]}


@dataclass(frozen=True)
class Census:
    """What every check looks at, read once per diagnosis."""

    stores: list[Store]
    schemas: set[str]
    migration_schemas: set[str]  # schemas holding a django_migrations table
    register_schemas: set[str]  # schemas holding the register table

    def checkable(self) -> list[Store]:
        """Stores whose schema exists under a valid name: the ones whose contents are checked."""
        return [
            store
            for store in self.stores
            if is_valid_schema_name(name=store.schema_name) and store.schema_name in self.schemas
        ]


def _schemas_with_table(*, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace AS n JOIN pg_class AS c "
            "ON c.relnamespace = n.oid AND c.relname = %s AND c.relkind IN ('r', 'p')",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def all_schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def take_census() -> Census:
    # Schemas before stores: a signup committing in between then shows as a store whose schema
    # is "missing" (creating it is a no-op), never as an orphan schema that could be dropped.
    schemas = all_schema_names()
    return Census(
        stores=list(Store.objects.order_by("pk")),
        schemas=schemas,
        migration_schemas=_schemas_with_table(table=MIGRATION_TABLE),
        register_schemas=_schemas_with_table(table=Register._meta.db_table),
    )


def is_valid_schema_name(*, name: str) -> bool:
    """A plain lowercase identifier: usable unquoted, never `public` nor PostgreSQL's `pg_*`."""
    return (
        VALID_SCHEMA_NAME.match(name) is not None
        and not name.startswith("pg_")
        and name != get_public_schema_name()
    )


def repaired_schema_name(*, name: str, taken: Iterable[str]) -> str:
    """`name` made valid (lowercase, every other character `_`), numbered until unused.

    "tenant_novyj-testovyj-magazin-2" -> "tenant_novyj_testovyj_magazin_2" (the old system's
    own repair), or "…_2", "…_3" when that is taken by another schema or store.
    """
    taken = set(taken)
    candidate = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not is_valid_schema_name(name=candidate[:MAX_SCHEMA_NAME_LENGTH]):
        # Empty, a leading digit, `public` or `pg_…`: the store prefix makes any of them valid.
        candidate = naming.SCHEMA_PREFIX + candidate
    number = 1
    while True:
        suffix = "" if number == 1 else f"_{number}"
        numbered = candidate[: MAX_SCHEMA_NAME_LENGTH - len(suffix)] + suffix
        if numbered not in taken:
            return numbered
        number += 1


# --- Checks: each reads the census and returns its findings -------------------------------------


def check_schema_names(*, census: Census) -> list[Finding]:
    findings = []
    for store in census.stores:
        name = store.schema_name
        if is_valid_schema_name(name=name):
            continue
        # `public` holds the shared tables and `pg_*` are PostgreSQL's: renaming either would
        # break the database, and the store's data, if any, is mixed with them. A person decides.
        renamable = name != get_public_schema_name() and not (
            name.startswith("pg_") and name in census.schemas
        )
        findings.append(
            Finding(
                code=INVALID_SCHEMA_NAME,
                store=store.slug,
                schema=name,
                message=f"schema name {name!r} is not a plain lowercase identifier"
                + ("" if renamable else "; it cannot be renamed safely, a person must move it"),
                fixable=renamable,
            )
        )
    return findings


def check_missing_schemas(*, census: Census) -> list[Finding]:
    return [
        Finding(
            code=SCHEMA_MISSING,
            store=store.slug,
            schema=store.schema_name,
            message="the store's schema does not exist",
            fixable=True,
        )
        for store in census.stores
        # An invalid name is renamed first; its schema is checked under the new name.
        if is_valid_schema_name(name=store.schema_name) and store.schema_name not in census.schemas
    ]


def check_orphan_schemas(*, census: Census, drop_orphans: bool) -> list[Finding]:
    owned = {store.schema_name for store in census.stores} | {get_public_schema_name()}
    looks_like_a_store = {
        name for name in census.schemas if name.startswith(naming.SCHEMA_PREFIX)
    } | census.migration_schemas
    return [
        Finding(
            code=ORPHAN_SCHEMA,
            store=None,
            schema=name,
            message="a store-like schema that belongs to no store"
            + (
                "; dropped with --fix --drop-orphans"
                if drop_orphans
                else "; check it holds nothing needed, then drop it with --fix --drop-orphans"
            ),
            fixable=drop_orphans,
        )
        for name in sorted(looks_like_a_store - owned)
        if not name.startswith(SERVICE_SCHEMA_PREFIX)
    ]


def check_migrations(
    *, census: Census, expected: frozenset[tuple[str, str]] | None = None
) -> list[Finding]:
    stores = census.checkable()
    if not stores:
        return []
    expected = expected_migrations() if expected is None else expected
    applied = applied_migrations(store.schema_name for store in stores)
    findings = []
    for store in stores:
        missing = sorted(expected - applied[store.schema_name])
        if not missing:
            continue
        first_app, first_name = missing[0]
        findings.append(
            Finding(
                code=SCHEMA_BEHIND,
                store=store.slug,
                schema=store.schema_name,
                message=(
                    f"{len(missing)} of {len(expected)} migrations not applied "
                    f"(first: {first_app}.{first_name})"
                ),
                fixable=True,
            )
        )
    return findings


def check_owners(*, census: Census) -> list[Finding]:
    owned = set(
        Membership.objects.filter(
            store__in=[store.pk for store in census.stores],
            role=Membership.Role.OWNER,
            is_active=True,
        ).values_list("store_id", flat=True)
    )
    return [
        Finding(
            code=NO_OWNER,
            store=store.slug,
            schema=store.schema_name,
            message="no active owner; a person must decide who owns the store",
            fixable=False,
        )
        for store in census.stores
        if store.pk not in owned
    ]


def _schemas_with_active_register(*, schema_names: list[str]) -> set[str]:
    """Among `schema_names` (each holding the register table), those with an active register."""
    if not schema_names:
        return set()
    table = connection.ops.quote_name(Register._meta.db_table)
    union = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote_schema_name(name)}.{table} "  # noqa: S608 - quoted names
        "WHERE is_active)"
        for name in schema_names
    )
    with connection.cursor() as cursor:
        cursor.execute(union, schema_names)
        return {row[0] for row in cursor.fetchall()}


def check_registers(*, census: Census) -> list[Finding]:
    # A schema without the register table is behind; it is checked again once migrated.
    stores = [store for store in census.checkable() if store.schema_name in census.register_schemas]
    with_register = _schemas_with_active_register(
        schema_names=[store.schema_name for store in stores]
    )
    return [
        Finding(
            code=NO_REGISTER,
            store=store.slug,
            schema=store.schema_name,
            message="no active register, so no shift can be opened",
            fixable=True,
        )
        for store in stores
        if store.schema_name not in with_register
    ]


# --- Money: no stored amount has more places than its store's currency ---------------------
#
# Amounts are accepted with at most the currency's places (core.fields.MoneyField) and every
# write rounds to them. Before currencies had their own places every money column kept two, so a
# store whose currency has fewer (JPY, KRW, ISK…) may hold amounts such as 105.50 yen from then;
# stores of two places or more cannot. Those at risk are checked; their amounts are reported,
# never rounded: what a past sale was worth is for a person to decide.


def money_columns() -> list[tuple[str, str]]:
    """(table, column) of every money column of the store schemas."""
    tenant_apps = set(settings.TENANT_APPS)
    return sorted(
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        if model._meta.app_config.name in tenant_apps
        for field in model._meta.concrete_fields
        if isinstance(field, MoneyColumn)
    )


def _excess_amounts(*, schema_name: str, places: int) -> dict[str, int]:
    """`table.column` -> how many of its amounts have more than `places` places."""
    schema = quote_schema_name(schema_name)
    columns = money_columns()
    counts = ", ".join(
        f"(SELECT count(*) FROM {schema}.{table} WHERE {column} <> round({column}, %s))"  # noqa: S608 - names from the models
        for table, column in columns
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}", [places] * len(columns))
        found = cursor.fetchone()
    return {
        f"{table}.{column}": count
        for (table, column), count in zip(columns, found, strict=True)
        if count
    }


def check_money_places(*, census: Census) -> list[Finding]:
    findings = []
    for store in census.checkable():
        places = currency_places(store.currency)
        if places >= FORMER_PLACES or store.schema_name not in census.register_schemas:
            continue  # cannot hold such amounts, or is behind on migrations (checked again then)
        excess = _excess_amounts(schema_name=store.schema_name, places=places)
        if not excess:
            continue
        where = ", ".join(f"{column} ({count})" for column, count in excess.items())
        findings.append(
            Finding(
                code=MONEY_PLACES_EXCEEDED,
                store=store.slug,
                schema=store.schema_name,
                message=(
                    f"{sum(excess.values())} amount(s) have more places than {store.currency}'s "
                    f"{places}: {where}; a person must decide how to round them"
                ),
                fixable=False,
            )
        )
    return findings


def check_distribution(*, census: Census) -> list[Finding]:
    """On Citus with schema-based sharding, every store's schema (and the template and spares
    that become stores' schemas) is a distributed schema, placed whole on one worker node. One
    made before sharding was on, or while it was off, stays on the coordinator: it works, but
    the coordinator then holds a store's tables, its load and its disk."""
    if not is_citus():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('citus.enable_schema_based_sharding')")
        sharding = cursor.fetchone()[0] == "on"
        cursor.execute("SELECT schema_name::text FROM citus_schemas")
        distributed = {row[0] for row in cursor.fetchall()}
    findings = []
    if not sharding:
        findings.append(
            Finding(
                code=SHARDING_OFF,
                store=None,
                schema="",
                message=(
                    "citus.enable_schema_based_sharding is off: new stores' schemas stay on the "
                    "coordinator; ALTER DATABASE … SET citus.enable_schema_based_sharding TO on"
                ),
                fixable=False,
            )
        )
    stores = {store.schema_name: store.slug for store in census.checkable()}
    service = {name for name in census.register_schemas if name.startswith(SERVICE_SCHEMA_PREFIX)}
    findings.extend(
        Finding(
            code=NOT_DISTRIBUTED,
            store=stores.get(name),
            schema=name,
            message="the schema is not distributed: it lives on the coordinator, not on a worker",
            fixable=True,
        )
        for name in sorted((set(stores) | service) - distributed)
        if name in census.register_schemas  # a schema with the store tables in it
    )
    return findings


def check_receipt_fonts() -> list[Finding]:
    """Receipt PDFs need the fonts `RECEIPT_FONTS` names: without them, Latin-1 only."""
    missing = missing_fonts()
    if not missing:
        return []
    return [
        Finding(
            code=RECEIPT_FONTS_MISSING,
            store=None,
            schema="",
            message=(
                f"receipt fonts missing: {', '.join(missing)} (install fonts-dejavu-core and "
                "fonts-droid-fallback, or set RECEIPT_FONTS); PDF receipts write Latin-1 only"
            ),
            fixable=False,
        )
    ]


def diagnose(
    *, drop_orphans: bool = False, expected: frozenset[tuple[str, str]] | None = None
) -> list[Finding]:
    """Every finding, from a fresh look at the database."""
    census = take_census()
    return [
        *check_schema_names(census=census),
        *check_missing_schemas(census=census),
        *check_orphan_schemas(census=census, drop_orphans=drop_orphans),
        *check_migrations(census=census, expected=expected),
        *check_owners(census=census),
        *check_registers(census=census),
        *check_money_places(census=census),
        *check_distribution(census=census),
        *check_receipt_fonts(),
    ]
