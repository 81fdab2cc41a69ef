"""Store schemas made fast: a pool of spare schemas, a template schema and its replayable SQL.

A new store's schema comes, fastest first, from:

1. a **spare**: an empty schema, fully migrated ahead of time, taken with
   `SELECT … FOR UPDATE SKIP LOCKED` and renamed (`ALTER SCHEMA … RENAME`): milliseconds,
   whatever the number of stores;
2. the **template's script**: every statement that built the template schema (`kassa_template`)
   was recorded while its migrations ran, and is replayed into the new schema statement by
   statement in one round trip (psycopg's pipeline): the raw DDL of one schema, without
   Django's migration machinery;
3. **migrations**, only when the template is missing or behind the code's migrations (logged
   as a warning: run `migrate_schemas`, which brings the template, its script and the spares
   up to date).

A spare or a template that is behind the code's migrations is never used. Spares are refilled
after each signup (a Celery task) and by `migrate_schemas`.
"""

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import psycopg
import sqlparse
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_exists

from stores.migration_state import applied_migrations, expected_migrations
from stores.models import SpareSchema, Store, TemplateStatement

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA = "kassa_template"
SPARE_PREFIX = "kassa_spare_"
# Statements that only read, or steer the session, are not part of what builds a schema.
NOT_RECORDED = re.compile(
    r"^\s*(SELECT|SHOW|SET|RESET|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|WITH\b(?!.*\bINSERT\b))",
    re.IGNORECASE | re.DOTALL,
)


@cache
def _code_migrations() -> frozenset[tuple[str, str]]:
    """The code's migrations; they do not change while a process runs."""
    return expected_migrations()


def migration_state_key(migrations: frozenset[tuple[str, str]] | set[tuple[str, str]]) -> str:
    return hashlib.sha256(repr(sorted(migrations)).encode()).hexdigest()


def _is_current(schema_name: str) -> bool:
    return _code_migrations() <= applied_migrations([schema_name])[schema_name]


def provisioned_schema_names() -> list[str]:
    """Every schema migrate_schemas keeps at the code's migrations: stores, template, spares."""
    stores = list(
        Store.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    spares = list(SpareSchema.objects.order_by("name").values_list("name", flat=True))
    template = [TEMPLATE_SCHEMA] if schema_exists(TEMPLATE_SCHEMA) else []
    return stores + template + spares


# --- The template and its script -------------------------------------------------------------


@contextmanager
def _recording(statements: list[str]) -> Iterator[None]:
    """Record every statement that changes the database, with its parameters bound."""

    def record(execute: Callable, sql: str, params: object, many: bool, context: dict) -> object:
        # Django sends some as one string ("ALTER TABLE …; SET CONSTRAINTS …", and the other way
        # round when it drops a foreign key): recorded whole, one statement each, when any of
        # them changes the database.
        parts = sqlparse.split(sql) if ";" in sql else [sql]
        if any(not NOT_RECORDED.match(part) for part in parts if part.strip(" ;\n")):
            # Bound as text whatever the connection's cursors bind with, to be replayed as such.
            raw = context["cursor"].cursor.connection
            bound = psycopg.ClientCursor(raw).mogrify(sql, params) if params else sql
            statements.extend(
                part.rstrip(";") for part in sqlparse.split(bound) if part.strip(" ;\n")
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield


def _migrate_recording(schema_name: str) -> list[str]:
    statements: list[str] = []
    with _recording(statements):
        call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    return statements


def template_is_ready() -> bool:
    """The template exists, is at the code's migrations, and its script built all of it."""
    if not schema_exists(TEMPLATE_SCHEMA):
        return False
    applied = applied_migrations([TEMPLATE_SCHEMA])[TEMPLATE_SCHEMA]
    recorded = TemplateStatement.objects.filter(position=0).values_list("sql", flat=True).first()
    return _code_migrations() <= applied and recorded == _state_marker(applied)


def _state_marker(applied: set[tuple[str, str]]) -> str:
    # Position 0 holds the migration state the script has reached, as a SQL comment; v2 scripts
    # hold one statement per row (a v1 template is built afresh by migrate_schemas).
    return f"-- kassa template script v2 for migrations {migration_state_key(applied)}"


@transaction.atomic
def template_update() -> str:
    """Bring the template and its script to the code's migrations; say what was done.

    A template whose script is incomplete (made by something that did not record it) is built
    afresh: it holds no data, so nothing is lost.
    """
    exists = schema_exists(TEMPLATE_SCHEMA)
    applied = applied_migrations([TEMPLATE_SCHEMA])[TEMPLATE_SCHEMA] if exists else set()
    recorded = TemplateStatement.objects.filter(position=0).values_list("sql", flat=True).first()
    if exists and recorded == _state_marker(applied) and _code_migrations() <= applied:
        return "up to date"
    if exists and recorded == _state_marker(applied):
        action = "migrated"
        script = list(
            TemplateStatement.objects.exclude(position=0)
            .order_by("position")
            .values_list("sql", flat=True)
        )
    else:
        action = "built"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{TEMPLATE_SCHEMA}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
        script = []
    script += _migrate_recording(TEMPLATE_SCHEMA)
    applied = applied_migrations([TEMPLATE_SCHEMA])[TEMPLATE_SCHEMA]
    TemplateStatement.objects.all().delete()
    TemplateStatement.objects.bulk_create(
        [TemplateStatement(position=0, sql=_state_marker(applied))]
        + [TemplateStatement(position=number, sql=sql) for number, sql in enumerate(script, 1)]
    )
    logger.info("store template %s", action, extra={"statements": len(script)})
    return action


def _template_script() -> list[str]:
    statements = TemplateStatement.objects.exclude(position=0).order_by("position")
    return list(statements.values_list("sql", flat=True))


def schema_from_template(schema_name: str) -> None:
    """Create `schema_name` by replaying the template's script, one statement at a time in
    psycopg's pipeline mode: one round trip, and no multi-statement string, which Citus
    refuses on a worker node (`cannot insert multiple commands into a prepared statement`)."""
    script = _template_script()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    connection.set_schema(schema_name)
    try:
        with connection.cursor() as cursor, connection.connection.pipeline():
            for statement in script:
                cursor.execute(statement)
    finally:
        connection.set_schema_to_public()


# --- Spares -----------------------------------------------------------------------------------


def spare_take(*, schema_name: str) -> bool:
    """Rename a current spare to `schema_name`; False when none is ready. In the caller's
    transaction, so a failed signup gives the spare back."""
    for spare in SpareSchema.objects.select_for_update(skip_locked=True).order_by("pk")[:3]:
        if not _is_current(spare.name):
            continue  # migrate_schemas will bring it up; never hand out a schema that is behind
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER SCHEMA "{spare.name}" RENAME TO "{schema_name}"')
        spare.delete()
        return True
    return False


def spares_refill(*, target: int | None = None) -> int:
    """Make spares until the pool holds `target` current ones; returns how many were made."""
    target = settings.STORE_SPARE_SCHEMAS if target is None else target
    if not template_is_ready():
        return 0
    made = 0
    while SpareSchema.objects.count() < target:
        name = f"{SPARE_PREFIX}{secrets.token_hex(6)}"
        with transaction.atomic():
            schema_from_template(name)
            SpareSchema.objects.create(name=name)
        made += 1
    return made


def store_schema_create(*, store: Store) -> str:
    """Create the store's schema, fastest first; returns how (`spare`, `template`, `migrations`)."""
    if spare_take(schema_name=store.schema_name):
        return "spare"
    if template_is_ready():
        schema_from_template(store.schema_name)
        return "template"
    logger.warning(
        "store schema made by migrations: the template is missing or behind; run migrate_schemas",
        extra={"schema": store.schema_name},
    )
    try:
        store.create_schema(check_if_exists=False, verbosity=0)
    finally:
        # django-tenants leaves the connection in the new schema when a migration fails.
        connection.set_schema_to_public()
    return "migrations"
