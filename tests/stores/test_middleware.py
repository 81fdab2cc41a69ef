"""The store-scoped request rules of the contract, over HTTP."""

from urllib.parse import unquote

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from core.database.errors import SchemaMissing
from sales.models import Register
from stores.models import Membership, Store

REGISTERS = "/api/sales/registers/"
STORE = "/api/store/"


def test_a_member_gets_the_store_headers_and_its_data(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).get(REGISTERS)

    assert response.status_code == 200
    assert response["X-Tenant-Key"] == store_a.store.tenant_key
    assert response["X-Store-Slug"] == store_a.store.slug
    assert (
        response["X-Store-Name"]
        == "%D0%9C%D0%B0%D0%B3%D0%B0%D0%B7%D0%B8%D0%BD%20%D0%90%D0%BB%D1%8C%D1%84%D0%B0"
    )
    assert unquote(response["X-Store-Name"]) == "Магазин Альфа"
    assert set(response["Vary"].replace(" ", "").split(",")) >= {"X-Tenant-Key", "Authorization"}
    assert [row["name"] for row in response.json()["results"]] == ["Main register"]


@pytest.mark.parametrize("with_key", [True, False])
def test_no_token_is_401_whatever_the_key(store_a, client_for, with_key):
    client = client_for(None, store_a.store if with_key else None)

    response = client.get(REGISTERS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "X-Tenant-Key" not in response


def test_no_key_on_a_store_scoped_endpoint_is_400_tenant_required(store_a, client_for):
    response = client_for(store_a.owner).get(REGISTERS)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This endpoint acts in a store: send its key in the X-Tenant-Key header.",
        "code": "tenant_required",
    }


def test_an_empty_key_is_400_tenant_required(store_a, client_for):
    response = client_for(store_a.owner).get(REGISTERS, HTTP_X_TENANT_KEY="")

    assert response.status_code == 400
    assert response.json()["code"] == "tenant_required"


@pytest.mark.parametrize(
    "tenant_key",
    [
        "nosuchstore_0123abcd",
        "public",
        "pg_catalog",
        "information_schema",
        "tenant_test_alpha",  # a schema name is not a key
        "x' OR '1'='1",
        "'; DROP SCHEMA public CASCADE; --",
        "a" * 5000,
        "магазин_альфа",
        "Ð¼Ð°Ð³Ð°Ð·Ð¸Ð½",  # UTF-8 bytes read as latin-1, as WSGI does
        "alpha\r\nX-Injected: 1",
        "ALPHA_KEY",
        "../public",
        "%00",
    ],
)
def test_unknown_or_malformed_keys_are_404_tenant_not_found(store_a, client_for, tenant_key):
    response = client_for(store_a.owner).get(REGISTERS, HTTP_X_TENANT_KEY=tenant_key)

    assert response.status_code == 404
    assert response.json() == {
        "detail": "No active store has this X-Tenant-Key.",
        "code": "tenant_not_found",
    }
    assert "X-Tenant-Key" not in response


def test_an_inactive_store_is_404_tenant_not_found(store_a, client_for):
    store_a.store.is_active = False
    store_a.store.save()

    response = client_for(store_a.owner, store_a.store).get(REGISTERS)

    assert response.status_code == 404
    assert response.json()["code"] == "tenant_not_found"


def test_a_store_deactivated_after_being_cached_is_404_at_once(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)
    assert client.get(REGISTERS).status_code == 200  # the key is now cached

    store_a.store.is_active = False
    store_a.store.save(update_fields=["is_active"])

    assert client.get(REGISTERS).status_code == 404


def test_a_change_no_process_was_told_of_holds_at_the_next_request(store_a, client_for):
    """Another process (gunicorn worker, admin, a script's `update()`) changes the store: the
    cache here still holds the old row, yet the next request acts on the store as it is."""
    client = client_for(store_a.owner, store_a.store)
    assert client.get(STORE).json()["allow_negative_stock"] is False  # the key is now cached

    # when the row changes without this process hearing of it (no save(), no cache delete)
    Store.objects.filter(pk=store_a.store.pk).update(allow_negative_stock=True, name="Renamed")
    changed = client.get(STORE)
    Store.objects.filter(pk=store_a.store.pk).update(is_active=False)
    deactivated = client.get(REGISTERS)

    # then
    assert changed.json()["allow_negative_stock"] is True
    assert changed.json()["name"] == "Renamed"
    assert changed["X-Store-Name"] == "Renamed"
    assert deactivated.status_code == 404
    assert deactivated.json()["code"] == "tenant_not_found"


def test_a_store_whose_schema_is_missing_is_503_and_never_reaches_public(
    store_a, client_for, caplog
):
    """A pre-tenancy deployment keeps its own `sales_register` in public: with the store's
    schema gone, `search_path = <schema>, public` would read it. The request is refused instead,
    and the refusal logged."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.sales_register (id bigint, name text, is_active bool)")
        cursor.execute("INSERT INTO public.sales_register VALUES (1, 'LEGACY TILL', true)")
        cursor.execute(f'ALTER SCHEMA "{store_a.store.schema_name}" RENAME TO gone_for_a_while')
    client = client_for(store_a.owner, store_a.store)

    response = client.get(REGISTERS)
    anonymous = client_for(None, store_a.store).get(REGISTERS)

    assert response.status_code == 503
    assert response.json() == {
        "detail": "This store is unavailable; try again later.",
        "code": "store_unavailable",
    }
    assert b"LEGACY" not in response.content
    assert anonymous.status_code == 401  # the tenant rules still come after authentication
    assert "store schema missing" in caplog.text
    assert connection.schema_name == "public"


def test_a_task_in_a_store_whose_schema_is_missing_fails_before_any_query(store_a):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.sales_register (id bigint, name text, is_active bool)")
        cursor.execute(f'ALTER SCHEMA "{store_a.store.schema_name}" RENAME TO gone_for_a_while')

    with tenant_context(store_a.store), pytest.raises(SchemaMissing):
        Register.objects.count()


def test_a_member_of_another_store_is_403_not_a_member(store_a, store_b, client_for):
    response = client_for(store_a.owner, store_b.store).get(REGISTERS)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You are not a member of this store.",
        "code": "not_a_member",
    }


def test_a_user_of_no_store_is_403_not_a_member(store_a, user, client_for):
    response = client_for(user, store_a.store).get(REGISTERS)

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"


def test_a_removed_member_loses_access_with_the_token_they_hold(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    assert client.get(REGISTERS).status_code == 200

    Membership.objects.filter(user=store_a.cashier, store=store_a.store).delete()

    response = client.get(REGISTERS)
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"


def test_a_deactivated_membership_loses_access_at_once(store_a, client_for):
    client = client_for(store_a.manager, store_a.store)
    Membership.objects.filter(user=store_a.manager, store=store_a.store).update(is_active=False)

    assert client.get(REGISTERS).json()["code"] == "not_a_member"


def test_a_role_change_applies_to_a_token_issued_before_it(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    refused = client.post(REGISTERS, {"name": "Till 2"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    Membership.objects.filter(user=store_a.cashier, store=store_a.store).update(role="manager")
    assert client.post(REGISTERS, {"name": "Till 2"}).status_code == 201

    Membership.objects.filter(user=store_a.cashier, store=store_a.store).update(role="cashier")
    assert client.post(REGISTERS, {"name": "Till 3"}).status_code == 403


def test_public_endpoints_ignore_the_header_whatever_it_holds(store_a, client_for):
    for tenant_key in ["", "garbage", store_a.store.tenant_key, "a" * 5000]:
        response = client_for(store_a.owner).get("/api/me/", HTTP_X_TENANT_KEY=tenant_key)

        assert response.status_code == 200
        assert "X-Tenant-Key" not in response


def test_a_refused_request_changes_nothing(store_a, store_b, client_for):
    client_for(store_a.owner, store_b.store).post(REGISTERS, {"name": "Intruder"})
    client_for(store_a.cashier, store_a.store).post(REGISTERS, {"name": "Not allowed"})
    client_for(None, store_a.store).post(REGISTERS, {"name": "Anonymous"})

    for staffed in (store_a, store_b):
        with schema_context(staffed.store.schema_name):
            assert list(Register.objects.values_list("name", flat=True)) == ["Main register"]
