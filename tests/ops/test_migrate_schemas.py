"""`manage.py migrate_schemas`: only the stores behind are migrated, failures reported."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from ops.management.commands import migrate_schemas as command
from stores.models import Store
from tests.conftest import STORE_SCHEMAS
from tests.stores.test_provisioning import MIGRATED, catalog


def one_migration_behind(schema_name: str) -> None:
    """Undo the store's last migration of jobs (its webhook tables), as if it had not run."""
    tables = ", ".join(
        f'"{schema_name}".{table}'
        for table in ("jobs_webhookattempt", "jobs_webhookdelivery", "jobs_webhook")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema_name}".django_migrations '
            "WHERE app = 'jobs' AND name = '0002_webhooks'"
        )
        cursor.execute(f"DROP TABLE {tables}")


def test_migrate_schemas_migrates_only_the_stores_behind_and_tops_up_the_spares(db, settings):
    settings.STORE_SPARE_SCHEMAS = 1
    for number, schema_name in enumerate(STORE_SCHEMAS[:2]):
        Store.objects.create(
            name=f"Store {number}",
            slug=f"store-{number}",
            schema_name=schema_name,
            tenant_key=f"store_{number}_0000000{number}",
            currency="EUR",
            timezone="UTC",
        )
    one_migration_behind(STORE_SCHEMAS[1])
    out = io.StringIO()

    call_command("migrate_schemas", tenant=True, interactive=False, stdout=out)

    report = out.getvalue()
    assert "2 of 3 schemas (stores, template, spares) up to date" in report
    assert f"[1/1] {STORE_SCHEMAS[1]}: migrated" in report
    assert "Spare store schemas made: 1." in report
    assert catalog(STORE_SCHEMAS[1]) == catalog(STORE_SCHEMAS[0])


def test_migrate_schemas_reports_a_failing_store_goes_on_with_the_others_and_exits_1(
    db, monkeypatch
):
    for number, schema_name in enumerate(STORE_SCHEMAS):
        Store.objects.create(
            name=f"Store {number}",
            slug=f"store-{number}",
            schema_name=schema_name,
            tenant_key=f"store_{number}_0000000{number}",
            currency="EUR",
            timezone="UTC",
        )
        one_migration_behind(schema_name)  # every store
    run_migrations = command.run_migrations

    def fail_in_beta(args, options, codename, schema_name, *rest, **kwargs):
        if schema_name == STORE_SCHEMAS[1]:
            raise RuntimeError("disk full")
        return run_migrations(args, options, codename, schema_name, *rest, **kwargs)

    monkeypatch.setattr(command, "run_migrations", fail_in_beta)
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("migrate_schemas", tenant=True, interactive=False, stdout=out, stderr=err)

    assert exited.value.code == 1
    report = out.getvalue()
    assert f"{STORE_SCHEMAS[1]}: FAILED RuntimeError: disk full" in report
    assert f"{STORE_SCHEMAS[0]}: migrated" in report
    assert f"{STORE_SCHEMAS[2]}: migrated" in report
    assert "Migrated 2 of 3 schemas" in report
    assert f"{STORE_SCHEMAS[1]}: RuntimeError: disk full" in err.getvalue()
    assert catalog(STORE_SCHEMAS[2]) == catalog(MIGRATED)
