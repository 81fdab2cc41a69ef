"""`manage.py move_store`: a store's schema moved between Citus workers with its writes blocked
for the copy (`python -m tests.on_citus`), and a clear refusal anywhere else."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from ops import citus
from sales.models import Register
from tests.conftest import STORE_SCHEMAS, make_store


def move_store(*args: str) -> str:
    out = io.StringIO()
    call_command("move_store", *args, stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.not_citus  # on a cluster the command works: the tests below
def test_without_citus_it_refuses() -> None:
    with pytest.raises(CommandError, match="not a Citus coordinator"):
        move_store("any-store", "--to", "127.0.0.1:5432")


@pytest.fixture
def store_on_citus(committed_stores: None):
    assert citus.is_citus(), "a Citus coordinator's database"
    assert len(citus.workers()) >= 2
    staffed = make_store(STORE_SCHEMAS[0], name="Moving Shop")
    with tenant_context(staffed.store):
        Register.objects.create(name="Till 2")
    return staffed.store


@pytest.mark.citus
def test_a_store_moves_to_the_other_worker_and_back_with_its_rows(store_on_citus) -> None:
    store = store_on_citus
    first = citus.placement(store)
    other = next(node for node in citus.workers() if node != first)

    assert move_store(store.slug, "--to", str(other)) == (
        f"{store.slug} moved from {first} to {other}.\n"
    )
    assert citus.placement(store) == other
    with tenant_context(store):
        names = sorted(Register.objects.values_list("name", flat=True))
    assert names == ["Main register", "Till 2"]

    move_store(store.slug, "--to", str(first))
    assert citus.placement(store) == first
    assert move_store(store.slug, "--to", str(first)) == f"{store.slug} is on {first} already.\n"


@pytest.mark.citus
def test_a_move_to_a_node_that_is_not_a_worker_is_refused(store_on_citus) -> None:
    with pytest.raises(CommandError, match="not an active worker node"):
        move_store(store_on_citus.slug, "--to", "127.0.0.1:1")
    with pytest.raises(CommandError, match="is not host:port"):
        move_store(store_on_citus.slug, "--to", "somewhere")
    with pytest.raises(CommandError, match="No store with the slug"):
        move_store("no-such-store", "--to", "127.0.0.1:1")
