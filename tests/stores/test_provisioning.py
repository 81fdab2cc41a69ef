"""Store schemas from spares and from the template's script are the same as migrated ones."""

import re

import pytest
import sqlparse
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from onboarding.services import store_signup
from stores import provisioning
from stores.models import SpareSchema, Store, TemplateStatement
from tests.conftest import STORE_SCHEMAS, schema_names
from tests.factories import DEFAULT_PASSWORD

MIGRATED = STORE_SCHEMAS[0]  # made by migrations when the test run started


def catalog(schema_name: str) -> dict[str, list]:
    """What a schema holds, with its own name taken out so two schemas can be compared."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, pg_get_expr(d.adbin, d.adrelid)
              FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
              JOIN pg_namespace AS n ON n.oid = c.relnamespace
              LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE n.nspname = %(schema)s AND a.attnum > 0 AND NOT a.attisdropped
               AND c.relkind IN ('r', 'p')
        """,
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s",
        "constraints": """
            SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid)
              FROM pg_constraint AS co JOIN pg_class AS cl ON cl.oid = co.conrelid
              JOIN pg_namespace AS n ON n.oid = cl.relnamespace
             WHERE n.nspname = %(schema)s
        """,
        "sequences": """
            SELECT sequencename, data_type::text, start_value, increment_by
              FROM pg_sequences WHERE schemaname = %(schema)s
        """,
        "migrations": "SELECT app, name FROM {schema}.django_migrations",
    }
    found = {}
    with connection.cursor() as cursor:
        for part, sql in queries.items():
            cursor.execute(sql.replace("{schema}", f'"{schema_name}"'), {"schema": schema_name})
            found[part] = sorted(
                tuple(str(value).replace(schema_name, "<schema>") for value in row)
                for row in cursor.fetchall()
            )
    return found


def test_a_schema_from_the_template_script_is_the_migrated_one(db):
    assert provisioning.template_is_ready()

    provisioning.schema_from_template("tenant_from_template")

    built = catalog("tenant_from_template")
    assert built == catalog(MIGRATED)
    assert built["sequences"], "sequences are compared too"
    assert connection.schema_name == "public"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'tenant_from_template' "
            "AND last_value IS NOT NULL"
        )
        # never used but for the migration records: every store table's next id is 1
        assert cursor.fetchall() == [("django_migrations_id_seq",)]


def test_the_template_script_is_sent_one_statement_at_a_time(db):
    """Citus refuses a multi-statement string on its workers: each statement is its own."""
    script = provisioning._template_script()

    with CaptureQueriesContext(connection) as queries:
        provisioning.schema_from_template("tenant_one_by_one")

    sent = [query["sql"] for query in queries.captured_queries]
    assert len(script) > 50
    assert [statement for statement in sent if statement in script] == script
    for statement in sent:
        parsed = [part for part in sqlparse.split(statement) if part.strip(" ;\n")]
        assert len(parsed) == 1, statement


def test_a_foreign_key_a_migration_drops_is_dropped_by_the_script_too(db):
    # Django drops a foreign key with one string that starts with SET CONSTRAINTS.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE parent_row (id int PRIMARY KEY)")
        cursor.execute(
            "CREATE TEMPORARY TABLE child_row (parent_id int CONSTRAINT child_row_fk "
            "REFERENCES parent_row (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    recorded: list[str] = []

    with provisioning._recording(recorded), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute(
            'SET CONSTRAINTS "child_row_fk" IMMEDIATE; ALTER TABLE "child_row" '
            'DROP CONSTRAINT "child_row_fk"'
        )
        cursor.execute("SET search_path = public")

    assert recorded == [
        'SET CONSTRAINTS "child_row_fk" IMMEDIATE',
        'ALTER TABLE "child_row" DROP CONSTRAINT "child_row_fk"',
    ]


def test_a_signup_takes_a_spare_and_renames_it(db, django_capture_on_commit_callbacks):
    provisioning.spares_refill(target=2)
    spares = list(SpareSchema.objects.values_list("name", flat=True))
    assert len(spares) == 2

    signup = store_signup(
        user=None,
        name="Spare Shop",
        currency="EUR",
        timezone="UTC",
        owner_email="spare@example.com",
        owner_password=DEFAULT_PASSWORD,
    )

    assert signup.store.schema_name == "tenant_spare_shop"
    assert SpareSchema.objects.count() == 1
    taken = (set(spares) - set(SpareSchema.objects.values_list("name", flat=True))).pop()
    assert taken not in schema_names()
    assert catalog("tenant_spare_shop") == catalog(MIGRATED)


def test_a_spare_behind_the_migrations_is_never_handed_out(db):
    provisioning.spares_refill(target=1)
    spare = SpareSchema.objects.get().name
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{spare}".django_migrations WHERE app = %s', ["sales"])

    made = provisioning.store_schema_create(store=Store(schema_name="tenant_not_from_spare"))

    assert made == "template"
    assert SpareSchema.objects.filter(name=spare).exists()
    assert catalog("tenant_not_from_spare") == catalog(MIGRATED)


def test_without_a_ready_template_the_schema_comes_from_migrations(db, caplog):
    TemplateStatement.objects.filter(position=0).update(sql="-- a script of other migrations")
    assert not provisioning.template_is_ready()

    made = provisioning.store_schema_create(store=Store(schema_name="tenant_by_migrations"))

    assert made == "migrations"
    assert "run migrate_schemas" in caplog.text
    assert catalog("tenant_by_migrations") == catalog(MIGRATED)
    assert provisioning.spares_refill(target=1) == 0  # no spare is made from a stale script


def test_a_signup_failing_after_taking_a_spare_gives_it_back(committed_stores, monkeypatch):
    provisioning.spares_refill(target=1)
    spare = SpareSchema.objects.get().name

    def fail(**fields):
        raise RuntimeError("the register could not be made")

    monkeypatch.setattr("onboarding.services.register_create", fail)
    with pytest.raises(RuntimeError):
        store_signup(
            user=None,
            name="Doomed",
            currency="EUR",
            timezone="UTC",
            owner_email="doomed@example.com",
            owner_password=DEFAULT_PASSWORD,
        )

    assert list(SpareSchema.objects.values_list("name", flat=True)) == [spare]
    assert spare in schema_names()
    assert "tenant_doomed" not in schema_names()
    assert not Store.objects.exists()


def test_a_failure_halfway_through_the_script_leaves_no_schema(db, monkeypatch):
    before = schema_names()
    monkeypatch.setattr(
        provisioning, "_template_script", lambda: ["CREATE TABLE half (id int)", "SELECT 1/0"]
    )

    with pytest.raises(Exception, match="division by zero"), transaction.atomic():
        provisioning.schema_from_template("tenant_half")

    assert schema_names() == before
    assert connection.schema_name == "public"


def test_template_update_builds_a_missing_template_and_then_has_nothing_to_do(db):
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{provisioning.TEMPLATE_SCHEMA}" CASCADE')
    assert not provisioning.template_is_ready()

    assert provisioning.template_update() == "built"
    assert provisioning.template_is_ready()
    assert provisioning.template_update() == "up to date"
    assert catalog(provisioning.TEMPLATE_SCHEMA) == catalog(MIGRATED)


def test_no_added_column_carries_an_unnamed_constraint(db):
    """Citus refuses `ADD COLUMN … UNIQUE` or `… CHECK (…)` on a distributed table: every
    constraint a migration adds to an existing table has a name."""
    unnamed = re.compile(r"ADD COLUMN .*?(?<!\" )\b(UNIQUE|CHECK|PRIMARY KEY)\b")
    offending = [
        statement
        for statement in provisioning._template_script()
        if "ADD COLUMN" in statement and "CONSTRAINT" not in statement and unnamed.search(statement)
    ]
    assert offending == []
