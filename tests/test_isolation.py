"""Two stores share nothing: their rows live in separate schemas with separate id sequences."""

from django.db import connection
from django_tenants.utils import schema_context

from sales.models import Register

REGISTERS = "/api/sales/registers/"


def test_each_store_numbers_its_rows_from_one(store_a, store_b):
    assert store_a.register.pk == 1
    assert store_b.register.pk == 1


def test_a_register_written_in_a_is_invisible_in_b(store_a, store_b, client_for):
    created = client_for(store_a.owner, store_a.store).post(REGISTERS, {"name": "Only in A"})
    assert created.status_code == 201
    assert created.json()["id"] == 2

    listed = client_for(store_b.owner, store_b.store).get(REGISTERS).json()
    assert [(row["id"], row["name"]) for row in listed["results"]] == [(1, "Main register")]
    with schema_context(store_b.store.schema_name):
        assert Register.objects.count() == 1


def test_an_id_from_a_means_nothing_in_b(store_a, store_b, client_for):
    client_for(store_a.owner, store_a.store).post(REGISTERS, {"name": "A's second till"})
    b_owner = client_for(store_b.owner, store_b.store)

    assert b_owner.get(f"{REGISTERS}2/").status_code == 404
    assert b_owner.patch(f"{REGISTERS}2/", {"name": "Hijacked"}).status_code == 404
    assert b_owner.delete(f"{REGISTERS}2/").status_code == 404
    with schema_context(store_a.store.schema_name):
        assert Register.objects.get(pk=2).name == "A's second till"


def test_store_tables_are_not_reachable_from_public(store_a):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.sales_register')")
        assert cursor.fetchone()[0] is None


def test_store_tables_reference_only_their_own_schema_and_public_users_and_stores(store_a):
    """The scale-out rule (docs/architecture.md, "Scale-out"): nothing crosses from one store
    into another, and public never points into a store."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT source_ns.nspname, target_ns.nspname, target.relname
              FROM pg_constraint AS c
              JOIN pg_class AS source ON source.oid = c.conrelid
              JOIN pg_namespace AS source_ns ON source_ns.oid = source.relnamespace
              JOIN pg_class AS target ON target.oid = c.confrelid
              JOIN pg_namespace AS target_ns ON target_ns.oid = target.relnamespace
             WHERE c.contype = 'f' AND source_ns.nspname <> target_ns.nspname
            """
        )
        crossing = cursor.fetchall()

    for source_schema, target_schema, target_table in crossing:
        assert source_schema.startswith("tenant_"), (source_schema, target_schema, target_table)
        assert target_schema == "public"
        assert target_table in {"stores_user", "stores_store"}
