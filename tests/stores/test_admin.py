"""The Django admin: users with store history are deactivated, never deleted, and the sign-in is
locked out after repeated failures (django-axes)."""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from sales.models import Sale
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open
from stores.models import Membership, User
from tests.catalog.factories import ProductFactory
from tests.conftest import StoreWithStaff
from tests.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/admin/login/"


@pytest.fixture
def admin_client_signed_in(db: None) -> Client:
    admin = User.objects.create_superuser("admin@example.com", DEFAULT_PASSWORD)
    client = Client()
    client.force_login(admin)
    return client


def sold_by_the_cashier(staffed: StoreWithStaff) -> Sale:
    with tenant_context(staffed.store):
        ProductFactory(stock="5")
        shift_open(register_id=staffed.register.pk, opening_cash=0, user=staffed.cashier)
        return sale_checkout(
            user=staffed.cashier,
            role="cashier",
            register_id=staffed.register.pk,
            lines=[LineInput(product_id=1, quantity=1)],
            payments=[PaymentInput(method="cash", amount=100)],
        )


def test_deleting_a_user_with_store_history_in_the_admin_deactivates_them(
    store_a, admin_client_signed_in, client_for
):
    # given a cashier who made a sale
    sold_by_the_cashier(store_a)
    cashier = store_a.cashier
    assert User.objects.get(pk=cashier.pk).has_store_history

    # when the admin deletes them
    response = admin_client_signed_in.post(
        f"/admin/stores/user/{cashier.pk}/delete/", {"post": "yes"}
    )

    # then they are kept, unable to sign in, and their sale still lists with them
    assert response.status_code == 302
    kept = User.objects.get(pk=cashier.pk)
    assert kept.is_active is False
    assert Membership.objects.filter(user=kept).exists()
    sales = client_for(store_a.owner, store_a.store).get("/api/sales/").json()
    assert sales["count"] == 1
    assert sales["results"][0]["cashier"] == {"id": cashier.pk, "email": cashier.email}


def test_the_admins_bulk_delete_deletes_only_users_without_history(store_a, admin_client_signed_in):
    stranger = UserFactory()
    manager = store_a.manager

    admin_client_signed_in.post(
        "/admin/stores/user/",
        {"action": "delete_selected", "_selected_action": [stranger.pk, manager.pk], "post": "yes"},
    )

    assert not User.objects.filter(pk=stranger.pk).exists()
    assert User.objects.get(pk=manager.pk).is_active is False


def test_a_sale_whose_cashiers_account_row_is_gone_still_lists(store_a, client_for):
    """Users live in public with no constraint from a store's tables: a row deleted behind the
    admin's back (a script, raw SQL) must not hide the sales it made."""
    sale = sold_by_the_cashier(store_a)
    Membership.objects.filter(user=store_a.cashier).delete()
    User.objects.filter(pk=store_a.cashier.pk).delete()

    client = client_for(store_a.owner, store_a.store)
    listed = client.get("/api/sales/").json()
    one = client.get(f"/api/sales/{sale.pk}/")

    assert listed["count"] == 1
    assert listed["results"][0]["id"] == sale.pk
    assert listed["results"][0]["cashier"] is None
    assert one.status_code == 200
    assert one.json()["cashier"] is None


def test_the_admin_sign_in_is_locked_out_at_the_fifth_failure(db: None, settings):
    settings.AXES_FAILURE_LIMIT = 5
    User.objects.create_superuser("admin@example.com", DEFAULT_PASSWORD)
    client = Client()
    wrong = {"username": "admin@example.com", "password": "guess"}
    for _ in range(4):
        assert client.post(LOGIN, wrong).status_code == 200  # the form again, with its error

    fifth = client.post(LOGIN, wrong)
    # when the right password comes after five wrong ones
    locked = client.post(LOGIN, {"username": "admin@example.com", "password": DEFAULT_PASSWORD})

    # then the pair is locked out, in JSON, and nobody is signed in
    locked_out = {
        "detail": "Too many failed sign-ins: this account is locked for a while from here.",
        "code": "locked_out",
    }
    assert (fifth.status_code, fifth.json()) == (429, locked_out)
    assert (locked.status_code, locked.json()) == (429, locked_out)
    assert "_auth_user_id" not in client.session


def test_the_api_sign_in_is_not_locked_by_the_admins_guard(db: None, api_client):
    """The API's sign-in has its own throttle; the admin's lockout does not reach it."""
    user = UserFactory()
    for _ in range(6):
        api_client.post("/api/auth/token/", {"email": user.email, "password": "guess"})

    response = api_client.post(
        "/api/auth/token/", {"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
