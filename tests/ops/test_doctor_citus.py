"""`doctor` on a Citus cluster with schema-based sharding (`python -m tests.on_citus`): a store
schema left on the coordinator is found and distributed. Collected only on a cluster."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ops.citus import is_citus
from ops.doctor.checks import NOT_DISTRIBUTED
from sales.models import Register
from stores.provisioning import schema_from_template
from tests.factories import StoreFactory
from tests.ops.test_doctor import codes, doctor_json

pytestmark = [pytest.mark.citus, pytest.mark.django_db(transaction=True)]

UNDISTRIBUTED = "tenant_test_on_coordinator"


@pytest.fixture
def citus() -> None:
    assert is_citus(), "a Citus coordinator's database"


def distributed_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name::text FROM citus_schemas")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def store_on_the_coordinator(citus: None, committed_stores: None):
    """A store whose schema was made while schema-based sharding was off."""
    with connection.cursor() as cursor:
        cursor.execute("SET citus.enable_schema_based_sharding TO off")
    try:
        schema_from_template(UNDISTRIBUTED)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET citus.enable_schema_based_sharding")
    store = StoreFactory(schema_name=UNDISTRIBUTED)
    with schema_context(UNDISTRIBUTED):
        Register.objects.create(name="Main register")
    yield store
    store.delete(force_drop=True)


def test_every_store_schema_of_the_run_is_distributed(citus: None) -> None:
    assert distributed_schemas() >= {"tenant_test_alpha", "tenant_test_beta", "tenant_test_gamma"}


def test_a_store_schema_on_the_coordinator_is_found_and_distributed(store_on_the_coordinator):
    store = store_on_the_coordinator
    assert UNDISTRIBUTED not in distributed_schemas()

    status, found = doctor_json()
    assert status == 1
    assert (NOT_DISTRIBUTED, store.slug, UNDISTRIBUTED, True, False) in codes(found)

    status, fixed = doctor_json("--fix")
    assert (NOT_DISTRIBUTED, store.slug, UNDISTRIBUTED, True, True) in codes(fixed)
    assert UNDISTRIBUTED in distributed_schemas()
    with schema_context(UNDISTRIBUTED):
        assert list(Register.objects.values_list("name", flat=True)) == ["Main register"]
