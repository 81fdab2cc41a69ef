"""The connection's search_path: one SET per request, never carried into the next one."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from core.database.errors import TRANSACTION
from sales.models import Register
from sales.services import register_create
from stores.models import Store
from tests.conftest import access_token, make_store

REGISTERS = "/api/sales/registers/"


def server_search_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def is_path_set(sql: str) -> bool:
    """`SET search_path` (public), or the checked set of a store's path (core.database)."""
    return sql.upper().startswith("SET SEARCH_PATH") or sql.startswith(
        "SELECT set_config('search_path'"
    )


def set_statements(queries: list[dict]) -> list[str]:
    return [query["sql"] for query in queries if is_path_set(query["sql"])]


def test_a_savepoint_rollback_does_not_leave_another_stores_path_behind(store_a, store_b):
    """django-tenants #1262: a SET undone by ROLLBACK TO SAVEPOINT must be issued again."""
    with schema_context(store_a.store.schema_name):
        Register.objects.create(name="Only in A")
    # The connection's last SET was for B, as a previous request could have left it.
    connection.set_tenant(store_b.store)
    assert Register.objects.count() == 1

    connection.set_tenant(store_a.store)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint
                Register.objects.count()  # SET search_path to A happens inside the savepoint
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        # PostgreSQL has put the path back to B; Kassa must not believe it is still A.
        names = sorted(Register.objects.values_list("name", flat=True))

    assert names == ["Main register", "Only in A"]
    assert server_search_path().startswith(store_a.store.schema_name)


def test_a_full_rollback_does_not_leave_another_stores_path_behind(store_a, store_b):
    connection.set_tenant(store_b.store)
    Register.objects.count()
    connection.set_tenant(store_a.store)
    sid = transaction.savepoint()
    Register.objects.create(name="Only in A")
    transaction.savepoint_rollback(sid)

    register_create(name="Still A")

    with schema_context(store_b.store.schema_name):
        assert list(Register.objects.values_list("name", flat=True)) == ["Main register"]
    with schema_context(store_a.store.schema_name):
        assert sorted(Register.objects.values_list("name", flat=True)) == [
            "Main register",
            "Still A",
        ]


def test_a_store_scoped_request_sets_the_path_once_and_before_any_transaction(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)
    client.get(REGISTERS)  # warms the tenant-key cache

    with CaptureQueriesContext(connection) as queries:
        response = client.post(REGISTERS, {"name": "Till 2"})

    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    schema = store_a.store.schema_name
    assert set_statements(queries.captured_queries) == [
        "SELECT set_config('search_path', '"
        f"{schema}, public', false) FROM pg_catalog.pg_namespace WHERE nspname = '{schema}'"
    ]
    assert is_path_set(statements[0])


def test_a_store_scoped_get_costs_three_statements_on_a_warm_cache(store_a, client_for):
    """The SET, the JWT user, the membership, then the view's own queries."""
    client = client_for(store_a.cashier, store_a.store)
    client.get(REGISTERS)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{REGISTERS}{store_a.register.pk}/")

    assert response.status_code == 200
    # The test's own transaction turns the request's transaction into a savepoint; outside
    # tests it opens and commits without a statement of its own.
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if "SAVEPOINT" not in query["sql"].split(" ", 2)[:2]
    ]
    assert len(set_statements(queries.captured_queries)) == 1
    assert len(statements) == 4, statements  # SET, user, membership, register


def test_a_request_that_raised_in_a_store_leaves_the_connection_in_public(
    store_a, client_for, monkeypatch
):
    def fail_after_writing(**fields):
        register_create(**fields)
        raise RuntimeError("the view fails halfway")

    monkeypatch.setattr("sales.services.register_create", fail_after_writing)
    client = client_for(store_a.owner, store_a.store)
    client.raise_request_exception = False

    response = client.post(REGISTERS, {"name": "Half-written"})

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert connection.schema_name == "public"
    assert server_search_path() == "public"


@pytest.mark.usefixtures("committed_stores")
def test_a_persistent_connection_starts_the_next_request_in_public(monkeypatch, settings):
    """With CONN_MAX_AGE > 0 the same server connection serves request after request."""
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    staffed = make_store("tenant_test_alpha", name="Persistent")

    def fail(**fields):
        register_create(**fields)
        raise RuntimeError("the view fails halfway")

    monkeypatch.setattr("sales.services.register_create", fail)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(staffed.owner)}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    failed = client.post(REGISTERS, {"name": "Boom"}, HTTP_X_TENANT_KEY=staffed.store.tenant_key)
    assert failed.status_code == 500

    # The next request, on the same server connection, sees only public until it picks a store.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == backend
    assert server_search_path() == "public"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('sales_register')")
        assert cursor.fetchone()[0] is None  # a store table is not reachable from public
    assert client.get("/api/me/").status_code == 200
    with schema_context(staffed.store.schema_name):
        assert list(Register.objects.values_list("name", flat=True)) == ["Main register"]
    assert Store.objects.count() == 1


# --- Transaction pooling: the path lives inside each transaction -------------------------------


@pytest.fixture
def transaction_pooling(monkeypatch) -> None:
    """This process's connection as `DATABASE_POOL_MODE=transaction` makes it."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself, not its proxy
    wrapper.close()  # a fresh connection, with no session-level path of its own
    monkeypatch.setattr(wrapper, "pool_mode", TRANSACTION)
    monkeypatch.setattr(
        wrapper,
        "execute_wrappers",
        [*wrapper.execute_wrappers, wrapper._path_in_every_transaction],
    )
    yield
    wrapper.close()


def local_set_of(schema_name: str) -> str:
    return (
        f"SELECT set_config('search_path', '{schema_name}, public', true) "
        f"FROM pg_catalog.pg_namespace WHERE nspname = '{schema_name}'"
    )


@pytest.mark.usefixtures("committed_stores", "transaction_pooling")
def test_under_transaction_pooling_the_path_is_the_first_statement_of_the_requests_transaction():
    staffed = make_store("tenant_test_alpha", name="Pooled Shop")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token(staffed.owner)}",
        HTTP_X_TENANT_KEY=staffed.store.tenant_key,
    )
    client.get(REGISTERS)  # warms the tenant-key cache

    with CaptureQueriesContext(connection) as queries:
        response = client.post(REGISTERS, {"name": "Till 2"})

    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert set_statements(queries.captured_queries) == [local_set_of(staffed.store.schema_name)]
    assert statements[:2] == ["BEGIN", local_set_of(staffed.store.schema_name)]
    # and nothing of it is left on the connection once the transaction is over
    assert connection.connection.execute("SHOW search_path").fetchone()[0] == '"$user", public'


@pytest.mark.usefixtures("committed_stores", "transaction_pooling")
def test_under_transaction_pooling_a_public_request_sets_no_path():
    staffed = make_store("tenant_test_alpha", name="Pooled Shop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(staffed.owner)}")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/me/")

    assert response.status_code == 200
    assert set_statements(queries.captured_queries) == []


@pytest.mark.usefixtures("committed_stores", "transaction_pooling")
def test_under_transaction_pooling_a_statement_outside_a_transaction_gets_one_of_its_own():
    staffed = make_store("tenant_test_alpha", name="Pooled Shop")

    with schema_context(staffed.store.schema_name):
        with connection.cursor() as cursor:
            # Where the statement's names resolve (asked of the server the application talks
            # to: on Citus a query of a store's table itself runs on a worker node).
            cursor.execute(
                "SELECT current_setting('search_path'), (SELECT relnamespace::regnamespace::text "
                "FROM pg_class WHERE oid = to_regclass('sales_register'))"
            )
            seen = cursor.fetchall()
            cursor.execute("SELECT name FROM sales_register")
            names = cursor.fetchall()
        connection.ensure_connection()
        after = connection.connection.execute("SHOW search_path").fetchone()[0]

    assert connection.get_autocommit()
    schema_name = staffed.store.schema_name
    assert seen == [(f"{schema_name}, public", schema_name)]  # the store's own table
    assert names == [("Main register",)]
    assert after == '"$user", public'  # the path was the statement's transaction's alone


@pytest.mark.usefixtures("committed_stores", "transaction_pooling")
def test_under_transaction_pooling_a_savepoint_rollback_does_not_leave_another_path_behind():
    alpha = make_store("tenant_test_alpha", name="Alpha")
    beta = make_store("tenant_test_beta", name="Beta")
    with schema_context(alpha.store.schema_name):
        Register.objects.create(name="Only in A")

    with transaction.atomic():
        connection.set_tenant(alpha.store)
        Register.objects.count()  # A's path, at the transaction's top
        try:
            with transaction.atomic():  # a savepoint
                connection.set_tenant(beta.store)
                Register.objects.count()  # B's path, inside the savepoint
                connection.set_tenant(alpha.store)
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        names = sorted(Register.objects.values_list("name", flat=True))

    assert names == ["Main register", "Only in A"]


@pytest.mark.usefixtures("committed_stores", "transaction_pooling")
def test_under_transaction_pooling_a_missing_schema_is_a_503_never_public():
    staffed = make_store("tenant_test_alpha", name="Pooled Shop")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token(staffed.owner)}",
        HTTP_X_TENANT_KEY=staffed.store.tenant_key,
    )
    with connection.cursor() as cursor:
        cursor.execute('ALTER SCHEMA "tenant_test_alpha" RENAME TO tenant_test_alpha_gone')
    try:
        response = client.get(REGISTERS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute('ALTER SCHEMA "tenant_test_alpha_gone" RENAME TO tenant_test_alpha')

    assert response.status_code == 503
    assert response.json()["code"] == "store_unavailable"
