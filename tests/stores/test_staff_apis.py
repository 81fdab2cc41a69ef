"""The store-scoped store API: the current store (/api/store/) and its staff (/api/staff/).

Inviting staff (POST /api/staff/, /api/staff/invitations/) is in test_invitations.py.
"""

from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from stores.models import Membership, Store, User
from tests.conftest import StoreWithStaff, access_token
from tests.factories import MembershipFactory

STAFF = "/api/staff/"
STORE = "/api/store/"
ME = "/api/me/"
CUSTOMERS = "/api/customers/"
REGISTERS = "/api/sales/registers/"
ROLES = ("owner", "manager", "cashier")

NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
PERMISSION_DENIED = {
    "detail": "Your role in this store does not allow this action.",
    "code": "permission_denied",
}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
LAST_OWNER = {"detail": "A store keeps at least one active owner.", "code": "last_owner"}

ClientFor = Callable[..., APIClient]


def membership_of(staffed: StoreWithStaff, role: str) -> Membership:
    return Membership.objects.get(store=staffed.store, user=staffed.member(role))


def staff_of(store: Store) -> list[tuple[int, str, str, bool]]:
    """The store's memberships as stored: (id, email, role, is_active), oldest first."""
    return list(
        Membership.objects.filter(store=store)
        .order_by("id")
        .values_list("id", "user__email", "role", "is_active")
    )


def users() -> list[tuple[int, str, str, str]]:
    return list(User.objects.order_by("id").values_list("id", "email", "full_name", "password"))


def staff_json(membership: Membership) -> dict:
    membership.refresh_from_db()
    return {
        "id": membership.id,
        "user": {
            "id": membership.user.id,
            "email": membership.user.email,
            "full_name": membership.user.full_name,
        },
        "role": membership.role,
        "is_active": membership.is_active,
        "created_at": DateTimeField().to_representation(membership.created_at),
    }


def store_json(store: Store) -> dict:
    store.refresh_from_db()
    return {
        "id": store.id,
        "name": store.name,
        "slug": store.slug,
        "schema_name": store.schema_name,
        "tenant_key": store.tenant_key,
        "currency": store.currency,
        "timezone": store.timezone,
        "prices_include_tax": store.prices_include_tax,
        "allow_negative_stock": store.allow_negative_stock,
        "offline_oversell": store.offline_oversell,
        "cash_rounding": f"{store.cash_rounding:.2f}",
        "blind_close": store.blind_close,
        "max_cash_difference": None
        if store.max_cash_difference is None
        else f"{store.max_cash_difference:.2f}",
        "cashier_max_discount_percent": str(store.cashier_max_discount_percent),
        "locale": store.locale,
        "receipt_header": store.receipt_header,
        "receipt_footer": store.receipt_footer,
        "tax_id": store.tax_id,
        "is_active": store.is_active,
        "created_at": DateTimeField().to_representation(store.created_at),
    }


def store_row(store: Store) -> dict:
    return Store.objects.filter(pk=store.pk).values().get()


def store_item(store: Store, role: str) -> dict:
    return {
        "id": store.id,
        "name": store.name,
        "slug": store.slug,
        "tenant_key": store.tenant_key,
        "role": role,
    }


# --- GET /api/staff/ and who may touch staff -------------------------------------------------


def test_the_owner_lists_the_staff(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    members = [membership_of(store_a, role) for role in ROLES]

    # when
    response = client_for(store_a.owner, store_a.store).get(STAFF)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [staff_json(member) for member in members],
    }
    assert [row["role"] for row in response.json()["results"]] == list(ROLES)


def test_the_staff_list_costs_the_same_queries_for_3_and_30_members(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a warm tenant-key cache
    client = client_for(store_a.owner, store_a.store)
    assert client.get(STAFF).status_code == 200

    def queries_for_the_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(STAFF)
        assert response.status_code == 200
        return len(queries)

    # when
    three = queries_for_the_list()
    MembershipFactory.create_batch(27, store=store_a.store, role="cashier")
    thirty = queries_for_the_list()

    # then: observed 7 and 7 (SET search_path, the user, the membership, COUNT, the page with
    # its users, and the request's savepoint and release)
    assert three == thirty


def test_the_owner_reads_one_member(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    cashier = membership_of(store_a, "cashier")

    # when
    response = client_for(store_a.owner, store_a.store).get(f"{STAFF}{cashier.id}/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": cashier.id,
        "user": {
            "id": store_a.cashier.id,
            "email": store_a.cashier.email,
            "full_name": store_a.cashier.full_name,
        },
        "role": "cashier",
        "is_active": True,
        "created_at": DateTimeField().to_representation(cashier.created_at),
    }


def test_the_staff_list_filters_by_role_and_activity(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    client = client_for(store_a.owner, store_a.store)
    cashier = membership_of(store_a, "cashier")
    Membership.objects.filter(pk=cashier.pk).update(is_active=False)

    # when
    cashiers = client.get(STAFF, {"role": "cashier"}).json()["results"]
    inactive = client.get(STAFF, {"is_active": "false"}).json()["results"]

    # then
    assert cashiers == [staff_json(cashier)]
    assert inactive == [staff_json(cashier)]


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_managers_and_cashiers_may_not_see_or_change_staff(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # given
    client = client_for(store_a.member(role), store_a.store)
    cashier = membership_of(store_a, "cashier")
    staff_before, users_before = staff_of(store_a.store), users()

    # when
    responses = [
        client.get(STAFF),
        client.get(f"{STAFF}{cashier.id}/"),
        client.post(STAFF, {"email": "new@example.com", "role": "cashier"}),
        client.patch(f"{STAFF}{cashier.id}/", {"role": "owner"}),
        client.delete(f"{STAFF}{cashier.id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == PERMISSION_DENIED
    assert staff_of(store_a.store) == staff_before
    assert users() == users_before


def test_a_member_of_another_store_is_not_a_member_here(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: store_b's owner with store_a's key
    client = client_for(store_b.owner, store_a.store)
    cashier = membership_of(store_a, "cashier")
    staff_before = staff_of(store_a.store)

    # when
    responses = [
        client.get(STAFF),
        client.get(f"{STAFF}{cashier.id}/"),
        client.post(STAFF, {"email": store_b.owner.email, "role": "owner"}),
        client.patch(f"{STAFF}{cashier.id}/", {"role": "owner"}),
        client.delete(f"{STAFF}{cashier.id}/"),
        client.get(STORE),
        client.patch(STORE, {"name": "Taken over"}),
    ]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == NOT_A_MEMBER
    assert staff_of(store_a.store) == staff_before
    assert store_a.store.name == Store.objects.get(pk=store_a.store.pk).name == "Магазин Альфа"


def test_anonymous_callers_get_401(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    client = client_for(None, store_a.store)
    cashier = membership_of(store_a, "cashier")
    staff_before, store_before = staff_of(store_a.store), store_row(store_a.store)

    # when
    responses = [
        client.get(STAFF),
        client.post(STAFF, {"email": "new@example.com", "role": "owner"}),
        client.patch(f"{STAFF}{cashier.id}/", {"role": "owner"}),
        client.delete(f"{STAFF}{cashier.id}/"),
        client.get(STORE),
        client.patch(STORE, {"name": "Taken over"}),
    ]

    # then
    for response in responses:
        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED
    assert staff_of(store_a.store) == staff_before
    assert store_row(store_a.store) == store_before


def test_put_is_not_allowed(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    cashier = membership_of(store_a, "cashier")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).put(
        f"{STAFF}{cashier.id}/", {"role": "manager", "is_active": True}
    )

    # then
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}
    assert staff_of(store_a.store) == staff_before


def test_an_unknown_member_is_404(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    client = client_for(store_a.owner, store_a.store)
    staff_before = staff_of(store_a.store)
    unknown = Membership.objects.order_by("-id").values_list("id", flat=True).first() + 1000

    # when
    responses = [
        client.get(f"{STAFF}{unknown}/"),
        client.patch(f"{STAFF}{unknown}/", {"role": "manager"}),
        client.delete(f"{STAFF}{unknown}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert staff_of(store_a.store) == staff_before


def test_another_stores_member_is_404_with_this_stores_key(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: membership ids are global; store_a's owner names one of store_b's
    client = client_for(store_a.owner, store_a.store)
    foreign = membership_of(store_b, "owner")
    staff_b_before = staff_of(store_b.store)

    # when
    responses = [
        client.get(f"{STAFF}{foreign.id}/"),
        client.patch(f"{STAFF}{foreign.id}/", {"role": "cashier"}),
        client.patch(f"{STAFF}{foreign.id}/", {"is_active": False}),
        client.delete(f"{STAFF}{foreign.id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert staff_of(store_b.store) == staff_b_before
    assert foreign.id not in [row["id"] for row in client.get(STAFF).json()["results"]]


# --- PATCH /api/staff/{id}/ ------------------------------------------------------------------


def test_the_owner_changes_a_members_role(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given: the cashier's token, issued before; cashiers may not add registers
    cashier = membership_of(store_a, "cashier")
    cashier_client = client_for(store_a.cashier, store_a.store)
    assert cashier_client.post(REGISTERS, {"name": "Till 2"}).json() == PERMISSION_DENIED
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{cashier.id}/", {"role": "manager"}
    )

    # then: the same token now acts as a manager, who may add registers
    assert response.status_code == 200
    assert response.json() == {**staff_json(cashier), "role": "manager"}
    assert staff_of(store_a.store) == [
        (row[0], row[1], "manager", row[3]) if row[0] == cashier.id else row for row in staff_before
    ]
    assert cashier_client.post(REGISTERS, {"name": "Till 2"}).status_code == 201


def test_a_member_can_be_made_an_owner(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    manager = membership_of(store_a, "manager")

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{manager.id}/", {"role": "owner"}
    )

    # then: the new owner may manage staff
    assert response.status_code == 200
    assert response.json() == {**staff_json(manager), "role": "owner"}
    assert client_for(store_a.manager, store_a.store).get(STAFF).status_code == 200


def test_a_deactivated_member_loses_access_at_once(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a token issued before the change
    cashier = membership_of(store_a, "cashier")
    cashier_client = client_for(store_a.cashier, store_a.store)
    assert cashier_client.get(CUSTOMERS).status_code == 200

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{cashier.id}/", {"is_active": False}
    )

    # then
    assert response.status_code == 200
    assert response.json() == {**staff_json(cashier), "is_active": False}
    refused = cashier_client.get(CUSTOMERS)
    assert refused.status_code == 403
    assert refused.json() == NOT_A_MEMBER
    assert store_a.store.tenant_key not in [
        item["tenant_key"] for item in cashier_client.get(ME).json()["stores"]
    ]


def test_an_empty_patch_changes_nothing(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    cashier = membership_of(store_a, "cashier")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(f"{STAFF}{cashier.id}/", {})

    # then
    assert response.status_code == 200
    assert response.json() == staff_json(cashier)
    assert staff_of(store_a.store) == staff_before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({"role": "boss"}, {"role": ['"boss" is not a valid choice.']}, id="role"),
        pytest.param({"role": None}, {"role": ["This field may not be null."]}, id="null-role"),
        pytest.param(
            {"is_active": "maybe"}, {"is_active": ["Must be a valid boolean."]}, id="is-active"
        ),
    ],
)
def test_bad_patch_is_400_and_changes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, body: dict, errors: dict
) -> None:
    # given
    cashier = membership_of(store_a, "cashier")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(f"{STAFF}{cashier.id}/", body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert staff_of(store_a.store) == staff_before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"role": "manager"}, id="demote-to-manager"),
        pytest.param({"role": "cashier"}, id="demote-to-cashier"),
        pytest.param({"is_active": False}, id="deactivate"),
        pytest.param({"role": "manager", "is_active": False}, id="both"),
    ],
)
def test_the_last_owner_cannot_be_demoted_or_deactivated(
    store_a: StoreWithStaff, client_for: ClientFor, change: dict
) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(f"{STAFF}{owner.id}/", change)

    # then
    assert response.status_code == 409
    assert response.json() == LAST_OWNER
    assert staff_of(store_a.store) == staff_before


def test_the_last_owner_cannot_be_removed(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).delete(f"{STAFF}{owner.id}/")

    # then
    assert response.status_code == 409
    assert response.json() == LAST_OWNER
    assert staff_of(store_a.store) == staff_before


def test_the_last_owner_may_be_patched_as_an_owner(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    owner = membership_of(store_a, "owner")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{owner.id}/", {"role": "owner", "is_active": True}
    )

    # then
    assert response.status_code == 200
    assert response.json() == staff_json(owner)
    assert staff_of(store_a.store) == staff_before


def test_of_two_owners_one_can_be_demoted_then_the_other_cannot(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a second owner
    first = membership_of(store_a, "owner")
    second = MembershipFactory(store=store_a.store, role="owner")
    second_client = client_for(second.user, store_a.store)

    # when: the first owner steps down to manager
    demoted = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{first.id}/", {"role": "manager"}
    )

    # then
    assert demoted.status_code == 200
    assert demoted.json() == {**staff_json(first), "role": "manager"}
    staff_before = staff_of(store_a.store)

    # when: the second, now the last owner, tries the same, or to leave
    responses = [
        second_client.patch(f"{STAFF}{second.id}/", {"role": "manager"}),
        second_client.patch(f"{STAFF}{second.id}/", {"is_active": False}),
        second_client.delete(f"{STAFF}{second.id}/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 409
        assert response.json() == LAST_OWNER
    assert staff_of(store_a.store) == staff_before
    # and the demoted owner has lost the staff pages
    assert client_for(store_a.owner, store_a.store).get(STAFF).json() == PERMISSION_DENIED


def test_a_suspended_owner_does_not_count_as_an_owner(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a second owner, suspended
    first = membership_of(store_a, "owner")
    second = MembershipFactory(store=store_a.store, role="owner")
    client = client_for(store_a.owner, store_a.store)
    assert client.patch(f"{STAFF}{second.id}/", {"is_active": False}).status_code == 200
    staff_before = staff_of(store_a.store)

    # when
    response = client.patch(f"{STAFF}{first.id}/", {"role": "manager"})

    # then
    assert response.status_code == 409
    assert response.json() == LAST_OWNER
    assert staff_of(store_a.store) == staff_before


def test_an_owner_of_another_store_does_not_count(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: store_a's only owner is also an active owner of store_b
    owner = membership_of(store_a, "owner")
    MembershipFactory(store=store_b.store, user=store_a.owner, role="owner")
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        f"{STAFF}{owner.id}/", {"role": "manager"}
    )

    # then
    assert response.status_code == 409
    assert response.json() == LAST_OWNER
    assert staff_of(store_a.store) == staff_before


# --- DELETE /api/staff/{id}/ -----------------------------------------------------------------


def test_a_removed_members_token_stops_working_here_but_not_elsewhere(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: store_b's cashier is also store_a's cashier, with a token issued before
    someone = store_b.cashier
    membership = MembershipFactory(store=store_a.store, user=someone, role="cashier")
    token = access_token(someone)
    in_a, in_b = APIClient(), APIClient()
    in_a.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_KEY=store_a.store.tenant_key
    )
    in_b.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_KEY=store_b.store.tenant_key
    )
    assert in_a.get(CUSTOMERS).status_code == 200
    staff_before = staff_of(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).delete(f"{STAFF}{membership.id}/")

    # then
    assert response.status_code == 204
    assert response.content == b""
    assert staff_of(store_a.store) == [row for row in staff_before if row[0] != membership.id]
    assert User.objects.filter(pk=someone.pk).exists()
    refused = in_a.get(CUSTOMERS)
    assert refused.status_code == 403
    assert refused.json() == NOT_A_MEMBER
    assert "X-Store-Name" not in refused
    assert in_b.get(CUSTOMERS).status_code == 200
    assert in_b.get(ME).json()["stores"] == [store_item(store_b.store, "cashier")]


def test_of_two_owners_one_can_be_removed(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    second = MembershipFactory(store=store_a.store, role="owner")

    # when
    response = client_for(second.user, store_a.store).delete(
        f"{STAFF}{membership_of(store_a, 'owner').id}/"
    )

    # then
    assert response.status_code == 204
    assert [row[2] for row in staff_of(store_a.store)] == ["manager", "cashier", "owner"]
    assert client_for(store_a.owner, store_a.store).get(STAFF).json() == NOT_A_MEMBER


def test_a_suspended_owner_can_be_removed(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    second = MembershipFactory(store=store_a.store, role="owner", is_active=False)

    # when
    response = client_for(store_a.owner, store_a.store).delete(f"{STAFF}{second.id}/")

    # then
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=second.pk).exists()


# --- GET|PATCH /api/store/ -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_store(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # when
    response = client_for(store_a.member(role), store_a.store).get(STORE)

    # then
    store = store_a.store
    assert response.status_code == 200
    assert response.json() == {
        "id": store.id,
        "name": "Магазин Альфа",
        "slug": store.slug,
        "schema_name": "tenant_test_alpha",
        "tenant_key": store.tenant_key,
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "prices_include_tax": True,
        "allow_negative_stock": False,
        "offline_oversell": False,
        "cash_rounding": "0.00",
        "blind_close": False,
        "max_cash_difference": None,
        "cashier_max_discount_percent": "0.00",
        "locale": "en",
        "receipt_header": "",
        "receipt_footer": "",
        "tax_id": "",
        "is_active": True,
        "created_at": DateTimeField().to_representation(store.created_at),
    }
    assert response["X-Tenant-Key"] == store.tenant_key
    assert response["X-Store-Slug"] == store.slug
    assert response["X-Store-Name"] == quote("Магазин Альфа", safe="")


def test_the_owner_changes_the_store(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    client = client_for(store_a.owner, store_a.store)
    before = store_json(store_a.store)

    # when
    response = client.patch(
        STORE,
        {
            "name": "  Лавка «Ёлка» & Co  ",
            "timezone": "Asia/Vladivostok",
            "prices_include_tax": False,
            "allow_negative_stock": True,
            "offline_oversell": True,
            "cashier_max_discount_percent": "12.5",
        },
    )

    # then
    expected = {
        **before,
        "name": "Лавка «Ёлка» & Co",
        "timezone": "Asia/Vladivostok",
        "prices_include_tax": False,
        "allow_negative_stock": True,
        "offline_oversell": True,
        "cashier_max_discount_percent": "12.50",
    }
    assert response.status_code == 200, response.content
    assert response.json() == expected
    assert response["X-Store-Name"] == quote("Лавка «Ёлка» & Co", safe="")
    assert response["X-Store-Name"] == (
        "%D0%9B%D0%B0%D0%B2%D0%BA%D0%B0%20%C2%AB%D0%81%D0%BB%D0%BA%D0%B0%C2%BB%20%26%20Co"
    )
    assert store_json(store_a.store) == expected


def test_after_a_change_the_next_request_sees_the_new_store(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: the key's store is cached by an earlier request
    owner = client_for(store_a.owner, store_a.store)
    cashier = client_for(store_a.cashier, store_a.store)
    assert cashier.get(STORE).json()["name"] == "Магазин Альфа"

    # when
    assert owner.patch(STORE, {"name": "Renamed Shop", "timezone": "UTC"}).status_code == 200
    response = cashier.get(STORE)

    # then
    assert response.json()["name"] == "Renamed Shop"
    assert response.json()["timezone"] == "UTC"
    assert response["X-Store-Name"] == "Renamed%20Shop"


def test_a_partial_change_leaves_the_rest(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    before = store_json(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(STORE, {"prices_include_tax": False})

    # then
    assert response.status_code == 200
    assert response.json() == {**before, "prices_include_tax": False}
    assert store_json(store_a.store) == {**before, "prices_include_tax": False}


def test_read_only_store_fields_are_ignored(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    before = store_row(store_a.store)
    before_json = store_json(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(
        STORE,
        {
            "id": 999,
            "slug": "hijacked",
            "schema_name": "public",
            "tenant_key": "hijacked_00000000",
            "currency": "USD",
            "is_active": False,
            "created_at": "2000-01-01T00:00:00Z",
        },
    )

    # then
    assert response.status_code == 200
    assert response.json() == before_json
    assert store_row(store_a.store) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"timezone": "Mars/Olympus_Mons"},
            {"timezone": ["'Mars/Olympus_Mons' is not an IANA time zone."]},
            id="bad-timezone",
        ),
        pytest.param(
            {"timezone": ""}, {"timezone": ["This field may not be blank."]}, id="blank-timezone"
        ),
        pytest.param({"name": ""}, {"name": ["This field may not be blank."]}, id="blank-name"),
        pytest.param({"name": "   "}, {"name": ["This field may not be blank."]}, id="spaces-name"),
        pytest.param({"name": None}, {"name": ["This field may not be null."]}, id="null-name"),
        pytest.param(
            {"name": "Я" * 201},
            {"name": ["Ensure this field has no more than 200 characters."]},
            id="long-name",
        ),
        pytest.param(
            {"prices_include_tax": "maybe"},
            {"prices_include_tax": ["Must be a valid boolean."]},
            id="bad-boolean",
        ),
        pytest.param(
            {"name": "Fine", "timezone": "Nowhere"},
            {"timezone": ["'Nowhere' is not an IANA time zone."]},
            id="one-bad-field-spoils-all",
        ),
        pytest.param(
            {"cashier_max_discount_percent": "100.01"},
            {"cashier_max_discount_percent": ["Ensure this value is less than or equal to 100."]},
            id="discount-above-100",
        ),
        pytest.param(
            {"cashier_max_discount_percent": "-1"},
            {"cashier_max_discount_percent": ["Ensure this value is greater than or equal to 0."]},
            id="negative-discount",
        ),
    ],
)
def test_bad_store_changes_are_400_and_change_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, body: dict, errors: dict
) -> None:
    # given
    before = store_row(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(STORE, body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert store_row(store_a.store) == before


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_managers_and_cashiers_may_not_change_the_store(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # given
    before = store_row(store_a.store)

    # when
    response = client_for(store_a.member(role), store_a.store).patch(
        STORE, {"name": "Mine now", "allow_negative_stock": True}
    )

    # then
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED
    assert store_row(store_a.store) == before


def test_put_on_the_store_is_not_allowed(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    before = store_row(store_a.store)

    # when
    response = client_for(store_a.owner, store_a.store).put(STORE, {"name": "Replaced"})

    # then
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}
    assert store_row(store_a.store) == before


def test_changing_one_store_leaves_the_other(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given
    before_b = store_row(store_b.store)

    # when
    response = client_for(store_a.owner, store_a.store).patch(STORE, {"name": "Only A"})

    # then
    assert response.status_code == 200
    assert store_row(store_b.store) == before_b
    assert client_for(store_b.owner, store_b.store).get(STORE).json()["name"] == "Beta Shop"
