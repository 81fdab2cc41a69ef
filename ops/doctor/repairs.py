"""What `doctor --fix` repairs, stage by stage, each from a fresh diagnosis."""

import logging
from collections.abc import Callable

from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import quote_schema_name, tenant_context

from ops.doctor.checks import (
    INVALID_SCHEMA_NAME,
    NO_REGISTER,
    NOT_DISTRIBUTED,
    ORPHAN_SCHEMA,
    SCHEMA_BEHIND,
    SCHEMA_MISSING,
    Finding,
    Report,
    all_schema_names,
    diagnose,
    is_valid_schema_name,
    repaired_schema_name,
)
from sales.services import MAIN_REGISTER_NAME, register_create
from stores.migration_state import expected_migrations
from stores.models import Store
from stores.provisioning import store_schema_create

logger = logging.getLogger(__name__)


def rename_schema(*, finding: Finding) -> None:
    """Rename the schema and the store's row together: one transaction, so never half done."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(slug=finding.store)
        old_name = store.schema_name
        if is_valid_schema_name(name=old_name):
            return  # renamed meanwhile
        schemas = all_schema_names()
        taken = schemas | set(Store.objects.values_list("schema_name", flat=True))
        new_name = repaired_schema_name(name=old_name, taken=taken)
        # A store whose schema is missing too only gets a valid name; it is created next.
        if old_name in schemas:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"ALTER SCHEMA {quote_schema_name(old_name)} "
                    f"RENAME TO {quote_schema_name(new_name)}"
                )
        store.schema_name = new_name
        store.save(update_fields=["schema_name"])  # forgets the cached store, now and on commit
    finding.message += f"; renamed to {new_name}"
    logger.info("schema renamed", extra={"store": store.slug, "schema": new_name, "old": old_name})


def create_schema(*, finding: Finding) -> None:
    """The store's schema, made as onboarding makes it (spare, template script or migrations);
    all or nothing."""
    store = Store.objects.get(slug=finding.store)
    with transaction.atomic():
        made = store_schema_create(store=store)
    logger.info(
        "schema created", extra={"store": store.slug, "schema": store.schema_name, "from": made}
    )


def migrate_schema(*, finding: Finding) -> None:
    try:
        # `tenant=True`: only this store's schema; public is the deploy's business.
        call_command(
            "migrate_schemas",
            schema_name=finding.schema,
            tenant=True,
            interactive=False,
            verbosity=0,
        )
    finally:
        connection.set_schema_to_public()
    logger.info("schema migrated", extra={"store": finding.store, "schema": finding.schema})


def create_main_register(*, finding: Finding) -> None:
    store = Store.objects.get(slug=finding.store)
    with tenant_context(store), transaction.atomic():
        register_create(name=MAIN_REGISTER_NAME)
    logger.info("register created", extra={"store": store.slug, "schema": store.schema_name})


def drop_orphan_schema(*, finding: Finding) -> None:
    with transaction.atomic():
        # No store row can be written until this commits, so none can claim the schema between
        # the check and the drop; writers in flight are waited for, and their rows seen.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Store._meta.db_table} IN SHARE MODE")
        if Store.objects.filter(schema_name=finding.schema).exists():
            raise RuntimeError(f"schema {finding.schema} now belongs to a store")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {quote_schema_name(finding.schema)} CASCADE")
    logger.warning("orphan schema dropped", extra={"schema": finding.schema})


def distribute_schema(*, finding: Finding) -> None:
    """Make the schema a distributed one (Citus), placed whole on a worker node. Its tables are
    copied there with writes to them blocked for the copy: seconds for a shop's data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT citus_schema_distribute(%s)", [finding.schema])
    logger.info("schema distributed", extra={"store": finding.store, "schema": finding.schema})


# In this order: a store's schema is renamed before it is created, created before it is migrated,
# migrated before a register can be written to it. Each stage starts from a fresh diagnosis.
REPAIRS: tuple[tuple[str, Callable[..., None]], ...] = (
    (INVALID_SCHEMA_NAME, rename_schema),
    (SCHEMA_MISSING, create_schema),
    (SCHEMA_BEHIND, migrate_schema),
    (NO_REGISTER, create_main_register),
    (ORPHAN_SCHEMA, drop_orphan_schema),
    (NOT_DISTRIBUTED, distribute_schema),
)


def _key(finding: Finding) -> tuple[str, str | None, str]:
    return finding.code, finding.store, finding.schema


def repair(
    *, drop_orphans: bool, expected: frozenset[tuple[str, str]]
) -> tuple[list[Finding], dict[tuple[str, str | None, str], str]]:
    """Repair what can be, stage by stage: the findings repaired, and why the others failed."""
    done: list[Finding] = []
    failures: dict[tuple[str, str | None, str], str] = {}
    for code, fix in REPAIRS:
        for finding in diagnose(drop_orphans=drop_orphans, expected=expected):
            if finding.code != code or not finding.fixable:
                continue
            try:
                fix(finding=finding)
            # Any failure of one store's repair is reported, and the other stores still repaired.
            except Exception as error:
                logger.exception(
                    "repair failed", extra={"store": finding.store, "schema": finding.schema}
                )
                failures[_key(finding)] = f"{type(error).__name__}: {error}"
                connection.set_schema_to_public()
                continue
            finding.fixed = True
            done.append(finding)
    return done, failures


def examine(*, fix: bool = False, drop_orphans: bool = False) -> Report:
    """The doctor's run: diagnose, and with `fix`, repair then diagnose again.

    Orphan schemas are dropped only when both `fix` and `drop_orphans` are given.
    """
    expected = expected_migrations()
    repaired, failures = repair(drop_orphans=drop_orphans, expected=expected) if fix else ([], {})
    remaining = diagnose(drop_orphans=drop_orphans, expected=expected)
    for finding in remaining:
        if _key(finding) in failures:
            finding.message += f"; repair failed: {failures[_key(finding)]}"
    return Report(findings=[*repaired, *remaining], store_count=Store.objects.count())
