"""The registers API (/api/sales/registers/) under every role."""

import pytest
from django_tenants.utils import schema_context

from sales.models import Register

REGISTERS = "/api/sales/registers/"


def register_names(staffed) -> list[str]:
    with schema_context(staffed.store.schema_name):
        return list(Register.objects.order_by("id").values_list("name", flat=True))


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_every_member_lists_and_reads_registers(store_a, client_for, role):
    client = client_for(store_a.member(role), store_a.store)

    listed = client.get(REGISTERS)
    detail = client.get(f"{REGISTERS}1/")

    assert listed.status_code == 200
    assert listed.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [{"id": 1, "name": "Main register", "is_active": True}],
    }
    assert detail.json() == {"id": 1, "name": "Main register", "is_active": True}


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_add_change_and_delete_registers(store_a, client_for, role):
    client = client_for(store_a.member(role), store_a.store)

    created = client.post(REGISTERS, {"name": "Till 2"})
    assert created.status_code == 201
    assert created.json() == {"id": 2, "name": "Till 2", "is_active": True}

    changed = client.patch(f"{REGISTERS}2/", {"name": "Back till", "is_active": False})
    assert changed.status_code == 200
    assert changed.json() == {"id": 2, "name": "Back till", "is_active": False}

    replaced = client.put(f"{REGISTERS}2/", {"name": "Front till", "is_active": True})
    assert replaced.json() == {"id": 2, "name": "Front till", "is_active": True}

    assert client.delete(f"{REGISTERS}2/").status_code == 204
    assert register_names(store_a) == ["Main register"]


def test_cashiers_may_not_change_registers(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)

    for response in (
        client.post(REGISTERS, {"name": "Till 2"}),
        client.patch(f"{REGISTERS}1/", {"name": "Renamed"}),
        client.put(f"{REGISTERS}1/", {"name": "Renamed", "is_active": True}),
        client.delete(f"{REGISTERS}1/"),
    ):
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Your role in this store does not allow this action.",
            "code": "permission_denied",
        }
    assert register_names(store_a) == ["Main register"]


def test_the_active_filter(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)
    client.post(REGISTERS, {"name": "Retired", "is_active": False})

    active = client.get(REGISTERS, {"is_active": "true"}).json()["results"]
    retired = client.get(REGISTERS, {"is_active": "false"}).json()["results"]

    assert [row["name"] for row in active] == ["Main register"]
    assert [row["name"] for row in retired] == ["Retired"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Till", "is_active": "maybe"}, "is_active"),
    ],
)
def test_bad_register_input_is_400_and_writes_nothing(store_a, client_for, body, field):
    response = client_for(store_a.owner, store_a.store).post(REGISTERS, body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert register_names(store_a) == ["Main register"]


def test_an_unknown_register_is_404(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).get(f"{REGISTERS}999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
