"""Behind a real PgBouncer in transaction mode: stores never see each other's rows.

A transaction pooler hands each transaction to whichever server connection is free, so a
session-level `SET search_path` made for one store is met by the next client's queries. In
`transaction` pool mode Kassa's backend sets the path inside every transaction instead, and a
process configured for `session` refuses to start behind such a pooler.
"""

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Sum
from django_tenants.utils import tenant_context

import core.database.base
from catalog.models import Product
from catalog.services import product_create, stock_adjust
from core.database.base import DatabaseWrapper
from ops.serving import Pooler, gunicorn, pgbouncer
from sales.models import Register, Sale
from sales.services import shift_open
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, access_token, make_store

ROOT = Path(__file__).resolve().parent.parent
LOAD_SECONDS = 5


@pytest.fixture(scope="session")
def pooler(django_db_setup: None, django_db_blocker) -> Iterator[Pooler]:
    """PgBouncer 1.18 in transaction mode in front of the test database: few server
    connections, so that clients' transactions share them all the time."""
    with django_db_blocker.unblock(), pgbouncer(connection.settings_dict, pool_size=4) as running:
        yield running


def pooled_wrapper(pooler: Pooler, pool_mode: str) -> DatabaseWrapper:
    """A connection of this process through the pooler, as a Kassa process would have one."""
    return DatabaseWrapper(
        {
            **connection.settings_dict,
            "HOST": "127.0.0.1",
            "PORT": pooler.port,
            "POOL_MODE": pool_mode,
            "CONN_MAX_AGE": 0,
            "OPTIONS": {},
        },
        alias=f"pooled-{uuid.uuid4().hex[:8]}",
    )


def registers_seen(wrapper: DatabaseWrapper, staffed: StoreWithStaff) -> list[str]:
    """A store's register names as `wrapper` reads them, outside any transaction."""
    wrapper.set_tenant(staffed.store)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT name FROM sales_register ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def two_stores(committed_stores: None) -> tuple[StoreWithStaff, StoreWithStaff]:
    alpha = make_store(STORE_SCHEMAS[0], name="Alpha")
    beta = make_store(STORE_SCHEMAS[1], name="Beta")
    with tenant_context(alpha.store):
        Register.objects.filter(pk=alpha.register.pk).update(name="Alpha till")
    with tenant_context(beta.store):
        Register.objects.filter(pk=beta.register.pk).update(name="Beta till")
    return alpha, beta


def test_in_transaction_mode_two_clients_sharing_a_server_connection_stay_apart(
    pooler: Pooler, two_stores: tuple[StoreWithStaff, StoreWithStaff]
) -> None:
    """Two clients of one pooler, taking turns in two stores: each reads only its own."""
    alpha, beta = two_stores
    first, second = pooled_wrapper(pooler, "transaction"), pooled_wrapper(pooler, "transaction")
    try:
        seen = [(registers_seen(first, alpha), registers_seen(second, beta)) for _ in range(20)]
    finally:
        first.close()
        second.close()

    assert seen == [(["Alpha till"], ["Beta till"])] * 20


def test_the_same_in_session_mode_leaks_which_is_why_it_refuses_to_start(
    pooler: Pooler, two_stores: tuple[StoreWithStaff, StoreWithStaff], monkeypatch
) -> None:
    """The control, with the refusal bypassed: the session-level SET of one client is met by
    the other's query, as requests interleave under load."""
    alpha, beta = two_stores
    monkeypatch.setattr(core.database.base, "_pooling_verified", True)
    first, second = pooled_wrapper(pooler, "session"), pooled_wrapper(pooler, "session")
    try:
        first.set_tenant(alpha.store)
        first_cursor = first.cursor()  # SET search_path for alpha, on a server connection
        second.set_tenant(beta.store)
        second.cursor().close()  # SET for beta, on the server connection just released
        first_cursor.execute("SELECT name FROM sales_register ORDER BY id")
        crossed = [row[0] for row in first_cursor.fetchall()]
    finally:
        first.close()
        second.close()

    assert crossed == ["Beta till"]


def start_django(database_url: str, pool_mode: str) -> subprocess.CompletedProcess:
    """A Kassa process's first connection, as gunicorn's and Celery's workers make it."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.db import connection; "
            "connection.ensure_connection(); print('connected')",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MODE": pool_mode,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_process_set_for_session_mode_refuses_to_start_behind_transaction_pooling(
    pooler: Pooler,
) -> None:
    refused = start_django(pooler.url, "session")
    accepted = start_django(pooler.url, "transaction")

    assert refused.returncode != 0
    assert "PoolModeMismatch" in refused.stderr
    assert "set DATABASE_POOL_MODE=transaction" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
    assert "connected" in accepted.stdout


def test_an_unknown_pool_mode_is_refused(pooler: Pooler) -> None:
    refused = start_django(pooler.url, "statement")

    assert refused.returncode != 0
    assert "use one of session, transaction" in refused.stderr


def test_server_side_prepared_statements_are_refused_under_transaction_pooling() -> None:
    for options in ({"prepare_threshold": 5}, {"server_side_binding": True}):
        with pytest.raises(ImproperlyConfigured, match="prepared statements must stay off"):
            DatabaseWrapper(
                {**connection.settings_dict, "POOL_MODE": "transaction", "OPTIONS": options}
            )


def test_a_pooled_connection_prepares_nothing_on_the_server(
    pooler: Pooler, two_stores: tuple[StoreWithStaff, StoreWithStaff]
) -> None:
    """The same query many times over, as a busy till sends it: never a named server-side
    statement, which the next transaction's server connection would not know."""
    alpha, _ = two_stores
    wrapper = pooled_wrapper(pooler, "transaction")
    try:
        for _ in range(10):
            assert registers_seen(wrapper, alpha) == ["Alpha till"]
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_catalog.pg_prepared_statements")
            prepared = cursor.fetchone()[0]
        threshold = wrapper.connection.prepare_threshold
    finally:
        wrapper.close()

    assert threshold is None
    assert prepared == 0


@pytest.fixture
def stores_for_load(committed_stores: None) -> list[StoreWithStaff]:
    """Three committed stores, each with a product in stock and an open shift."""
    stores = []
    for schema_name, tag in zip(STORE_SCHEMAS, ("ALPHA", "BETA", "GAMMA"), strict=True):
        staffed = make_store(schema_name, name=f"Store {tag}")
        with tenant_context(staffed.store):
            product = product_create(name=f"{tag} water", price=Decimal("1.00"))
            stock_adjust(product=product, delta=Decimal("100000"), reason="restock", user=None)
            shift_open(
                register_id=staffed.register.pk, opening_cash=Decimal("0"), user=staffed.owner
            )
        staffed.tag = tag
        stores.append(staffed)
    return stores


def test_stores_interleaved_through_transaction_pooling_never_see_each_others_rows(
    pooler: Pooler, stores_for_load: list[StoreWithStaff]
) -> None:
    """3 stores × 4 clients creating products, checking out and listing, through 4 server
    connections: every listing holds only its store's rows, and no answer is a 5xx."""
    environment = {
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": pooler.url,
        "DATABASE_POOL_MODE": "transaction",
        "CONN_MAX_AGE": "60",
        "THROTTLE_USER": "off",
        "THROTTLE_ANON": "off",
        "STORE_SPARE_SCHEMAS": "0",
    }
    foreign: list[str] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client(staffed: StoreWithStaff, port: int, number: int) -> None:
        session = requests.Session()
        session.headers.update(
            {
                "Authorization": f"Bearer {access_token(staffed.owner)}",
                "X-Tenant-Key": staffed.store.tenant_key,
            }
        )
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + LOAD_SECONDS
        made = 0
        while time.monotonic() < deadline:
            made += 1
            answers = [
                session.post(
                    f"{base}/catalog/products/",
                    json={"name": f"{staffed.tag} item {number}-{made}", "price": "2.00"},
                ),
                session.post(
                    f"{base}/sales/",
                    json={
                        "register": 1,
                        "lines": [{"product": 1, "quantity": "1"}],
                        "payments": [{"method": "cash", "amount": "1.00"}],
                    },
                ),
                session.get(f"{base}/catalog/products/", params={"page_size": 200}),
            ]
            listing = answers[-1]
            names = [item["name"] for item in listing.json().get("results", [])]
            with lock:
                statuses.update(answer.status_code for answer in answers)
                foreign.extend(name for name in names if not name.startswith(staffed.tag))

    with gunicorn(environment, workers=2, threads=4) as port:
        threads = [
            threading.Thread(target=client, args=(staffed, port, number))
            for staffed in stores_for_load
            for number in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert foreign == []
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[201] > 0
    assert statuses[200] > 0
    for staffed in stores_for_load:
        with tenant_context(staffed.store):
            assert all(
                name.startswith(staffed.tag)
                for name in Product.objects.values_list("name", flat=True)
            )
            numbers = sorted(Sale.objects.values_list("number", flat=True))
            assert numbers == list(range(1, len(numbers) + 1))
            water = Product.objects.annotate(moved=Sum("movements__delta")).get(pk=1)
            assert water.moved == water.stock == Decimal("100000") - len(numbers)
