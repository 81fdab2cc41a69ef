import pytest
from django.db.migrations.executor import MigrationExecutor
from django.db import connection

from stores import services
from tests.factories import UserFactory


def test_explore(db, monkeypatch):
    calls = []
    original = MigrationExecutor.apply_migration

    def wrapper(self, state, migration, *args, **kwargs):
        calls.append((connection.schema_name, migration.app_label, migration.name))
        return original(self, state, migration, *args, **kwargs)

    monkeypatch.setattr(MigrationExecutor, "apply_migration", wrapper)
    user = UserFactory()
    store = services.store_onboard(owner=user, name="Explore", currency="EUR", timezone="UTC")
    print(calls)
    with connection.cursor() as c:
        c.execute("select app, name from tenant_explore.django_migrations order by id")
        print(c.fetchall())
        c.execute("select tablename from pg_tables where schemaname='tenant_explore'")
        print(c.fetchall())
        c.execute("show search_path")
        print(c.fetchall(), connection.schema_name)
    assert 0
