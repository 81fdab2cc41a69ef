"""Tests of the public auth API: tokens, refresh, logout, the caller and their stores."""

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from stores.models import Membership, Store, User
from tests.conftest import StoreWithStaff
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, StoreFactory, UserFactory

TOKEN_URL = "/api/auth/token/"
REFRESH_URL = "/api/auth/token/refresh/"
LOGOUT_URL = "/api/auth/logout/"
ME_URL = "/api/me/"
STORES_URL = "/api/stores/"
SIGNUP_URL = "/api/stores/signup/"

BAD_CREDENTIALS = {
    "detail": "No active account found with the given credentials",
    "code": "no_active_account",
}
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
INVALID_TOKEN = {"detail": "Token is invalid", "code": "token_not_valid"}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
# A 401 names the scheme to answer it with (RFC 9110); DRF turns a 401 without it into a 403.
WWW_AUTHENTICATE = 'Bearer realm="api"'
THROTTLED = {
    "detail": "Request was throttled. Expected available in 60 seconds.",
    "code": "throttled",
}


def sign_in(client: APIClient, user: User) -> dict:
    response = client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def me_with(access: str) -> dict:
    """`/api/me/` with the given access token: proves the token is a real one for its user."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = client.get(ME_URL)
    assert response.status_code == 200, response.content
    return response.json()


def store_item(store: Store, role: str) -> dict:
    return {
        "id": store.id,
        "name": store.name,
        "slug": store.slug,
        "tenant_key": store.tenant_key,
        "role": role,
    }


@pytest.fixture
def limit_rate(monkeypatch: pytest.MonkeyPatch, settings) -> Callable[[str, str], None]:
    """`limit_rate(scope, rate)`: turns one scoped throttle on, on a frozen clock.

    DRF copies the rates onto the throttle class at import time, so the class is patched too;
    the frozen clock makes `Retry-After` exact.
    """

    def limit(scope: str, rate: str) -> None:
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
        monkeypatch.setattr(ScopedRateThrottle, "timer", lambda self: 1_700_000_000.0)

    return limit


# --- POST /api/auth/token/ ------------------------------------------------------------------


def test_token_with_email_and_password_returns_a_working_pair(
    api_client: APIClient, user: User
) -> None:
    # when
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD})

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert me_with(body["access"])["email"] == user.email
    assert RefreshToken(body["refresh"])["user_id"] == str(user.id)
    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_token_accepts_the_email_in_another_case(api_client: APIClient, db: None) -> None:
    # given
    user = UserFactory(email="anna.k@example.com")

    # when
    response = api_client.post(
        TOKEN_URL, {"email": "  Anna.K@Example.COM ", "password": DEFAULT_PASSWORD}
    )

    # then
    assert response.status_code == 200
    assert me_with(response.json()["access"])["id"] == user.id


def test_token_bad_credentials_answer_the_same_401_whatever_was_wrong(
    api_client: APIClient, user: User
) -> None:
    # given
    inactive = UserFactory(is_active=False)

    # when
    wrong_password = api_client.post(TOKEN_URL, {"email": user.email, "password": "wrong-one"})
    unknown_email = api_client.post(
        TOKEN_URL, {"email": "nobody@example.com", "password": DEFAULT_PASSWORD}
    )
    inactive_user = api_client.post(
        TOKEN_URL, {"email": inactive.email, "password": DEFAULT_PASSWORD}
    )

    # then: the same body each time, so the answer does not tell which emails exist
    for response in (wrong_password, unknown_email, inactive_user):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response.json() == BAD_CREDENTIALS
    assert wrong_password.content == unknown_email.content == inactive_user.content
    assert OutstandingToken.objects.count() == 0


def test_token_without_fields_is_a_400_per_field(api_client: APIClient, user: User) -> None:
    # when
    response = api_client.post(TOKEN_URL, {})

    # then
    assert response.status_code == 400
    assert response.json() == {
        "email": ["This field is required."],
        "password": ["This field is required."],
    }
    assert OutstandingToken.objects.count() == 0


def test_token_with_blank_password_is_a_400(api_client: APIClient, user: User) -> None:
    # when
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": ""})

    # then
    assert response.status_code == 400
    assert response.json() == {"password": ["This field may not be blank."]}
    assert OutstandingToken.objects.count() == 0


def test_token_is_throttled_per_client_after_the_login_rate(
    api_client: APIClient, user: User, limit_rate: Callable[[str, str], None]
) -> None:
    # given
    limit_rate("login", "2/min")
    sign_in(api_client, user)
    wrong = api_client.post(TOKEN_URL, {"email": user.email, "password": "wrong-one"})
    assert wrong.status_code == 401  # a failed attempt counts as well
    issued = OutstandingToken.objects.count()

    # when
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD})

    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response["Content-Type"] == "application/json"
    assert response.json() == THROTTLED
    assert OutstandingToken.objects.count() == issued


def test_a_new_forwarded_for_on_each_attempt_does_not_escape_the_throttle(
    api_client: APIClient, user: User, limit_rate: Callable[[str, str], None]
) -> None:
    """With no proxy declared (NUM_PROXIES 0), the client is its socket's address: a header it
    writes itself names no one."""
    # given two attempts, each claiming to come from another address
    limit_rate("login", "2/min")
    for number in (1, 2):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{number}"}
        api_client.post(TOKEN_URL, {"email": user.email, "password": "wrong"}, **forwarded)

    # when a third names yet another
    response = api_client.post(
        TOKEN_URL,
        {"email": user.email, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    # then it is the same client, throttled, and no token is issued
    assert response.status_code == 429
    assert OutstandingToken.objects.count() == 0


def test_behind_a_declared_proxy_the_address_it_saw_is_the_client(
    api_client: APIClient, user: User, limit_rate: Callable[[str, str], None], settings
) -> None:
    """NUM_PROXIES 1: the last X-Forwarded-For hop is the one the proxy wrote; what the client
    put before it is ignored, and two clients behind the proxy are two."""
    settings.NUM_PROXIES = 1
    limit_rate("login", "1/min")
    wrong = {"email": user.email, "password": "wrong"}
    api_client.post(TOKEN_URL, wrong, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.1")

    again = api_client.post(TOKEN_URL, wrong, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.1")
    other = api_client.post(TOKEN_URL, wrong, HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert again.status_code == 429
    assert other.status_code == 401


def test_refresh_and_logout_share_the_login_throttle(
    api_client: APIClient, user: User, limit_rate: Callable[[str, str], None]
) -> None:
    # given
    limit_rate("login", "2/min")
    tokens = sign_in(api_client, user)
    refreshed = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200

    # when
    refresh = api_client.post(REFRESH_URL, {"refresh": refreshed.json()["refresh"]})
    logout = api_client.post(LOGOUT_URL, {"refresh": refreshed.json()["refresh"]})

    # then
    assert (refresh.status_code, refresh.json()) == (429, THROTTLED)
    assert (logout.status_code, logout.json()) == (429, THROTTLED)
    assert BlacklistedToken.objects.count() == 1  # only the first rotation


def test_signup_is_throttled_and_a_rejected_attempt_counts(
    api_client: APIClient, db: None, limit_rate: Callable[[str, str], None]
) -> None:
    # given: a first attempt that fails validation, so no schema is made
    limit_rate("signup", "1/min")
    first = api_client.post(SIGNUP_URL, {"store_name": ""})
    assert first.status_code == 400
    stores, users = Store.objects.count(), User.objects.count()

    # when
    response = api_client.post(
        SIGNUP_URL,
        {
            "store_name": "Throttled Shop",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "owner": {"email": "throttled@example.com", "password": DEFAULT_PASSWORD},
        },
    )

    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == THROTTLED
    assert (Store.objects.count(), User.objects.count()) == (stores, users)


# --- POST /api/auth/token/refresh/ ----------------------------------------------------------


def test_refresh_rotates_the_pair_and_blacklists_the_old_refresh(
    api_client: APIClient, user: User
) -> None:
    # given
    tokens = sign_in(api_client, user)

    # when
    response = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != tokens["refresh"]
    assert me_with(body["access"])["id"] == user.id
    old_jti = RefreshToken(tokens["refresh"], verify=False)["jti"]
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == [old_jti]

    # and the new refresh token refreshes in turn
    again = api_client.post(REFRESH_URL, {"refresh": body["refresh"]})
    assert again.status_code == 200


def test_refresh_with_a_used_refresh_token_is_a_401(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)
    assert api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 200
    outstanding = OutstandingToken.objects.count()

    # when
    response = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.json() == BLACKLISTED
    assert OutstandingToken.objects.count() == outstanding
    assert BlacklistedToken.objects.count() == 1


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", ""],
    ids=["garbage", "three-dots", "empty"],
)
def test_refresh_with_a_malformed_token_is_rejected(
    api_client: APIClient, user: User, token: str
) -> None:
    # when
    response = api_client.post(REFRESH_URL, {"refresh": token})

    # then
    if token:
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN
    else:
        assert response.status_code == 400
        assert response.json() == {"refresh": ["This field may not be blank."]}
    assert (OutstandingToken.objects.count(), BlacklistedToken.objects.count()) == (0, 0)


def test_refresh_with_an_access_token_is_a_401(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)

    # when
    response = api_client.post(REFRESH_URL, {"refresh": tokens["access"]})

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has wrong type", "code": "token_not_valid"}
    assert BlacklistedToken.objects.count() == 0


def test_refresh_of_a_deactivated_user_is_a_401(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    # when
    response = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})

    # then
    assert response.status_code == 401
    assert response.json() == {
        "detail": "No active account found for the given token.",
        "code": "no_active_account",
    }
    assert BlacklistedToken.objects.count() == 0


def test_refresh_of_a_deleted_user_is_a_401(db: None) -> None:
    # given
    user = UserFactory()
    client = APIClient(raise_request_exception=False)
    tokens = sign_in(client, user)
    user.delete()

    # when
    response = client.post(REFRESH_URL, {"refresh": tokens["refresh"]})

    # then: a client-caused error is a 4xx, not a 500
    assert response.status_code == 401
    assert response.json()["code"] in {"no_active_account", "token_not_valid"}
    assert BlacklistedToken.objects.count() == 0


def test_a_refresh_token_used_twice_at_once_rotates_only_once(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two requests with the same refresh token, both past the blacklist check before
    # either has written anything (a replayed token racing its rightful owner)
    user = UserFactory()
    tokens = sign_in(APIClient(), user)
    both_checked = threading.Barrier(2, timeout=2)
    check_blacklist = RefreshToken.check_blacklist

    def check_then_wait_for_the_other(token: RefreshToken) -> None:
        check_blacklist(token)
        # A fix that serialises the two requests keeps the second one out: then stop waiting.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()

    monkeypatch.setattr(RefreshToken, "check_blacklist", check_then_wait_for_the_other)
    statuses: list[int] = []

    def refresh() -> None:
        try:
            response = APIClient(raise_request_exception=False).post(
                REFRESH_URL, {"refresh": tokens["refresh"]}
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then: one new pair, and the token is spent
    assert sorted(statuses) == [200, 401]
    assert BlacklistedToken.objects.count() == 1
    assert OutstandingToken.objects.count() == 2


# --- POST /api/auth/logout/ -----------------------------------------------------------------


def test_logout_revokes_the_refresh_token(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)

    # when
    response = api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]})

    # then
    assert response.status_code == 204
    assert response.content == b""
    refresh = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert refresh.status_code == 401
    assert refresh["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert refresh.json() == BLACKLISTED


def test_logout_twice_is_a_401_the_second_time(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)
    assert api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}).status_code == 204

    # when
    response = api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]})

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.json() == BLACKLISTED
    assert BlacklistedToken.objects.count() == 1


def test_logout_with_a_garbage_token_is_a_401(api_client: APIClient, user: User) -> None:
    # when
    response = api_client.post(LOGOUT_URL, {"refresh": "garbage"})

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response["Content-Type"] == "application/json"
    assert response.json() == INVALID_TOKEN
    assert (OutstandingToken.objects.count(), BlacklistedToken.objects.count()) == (0, 0)


def test_logout_with_an_access_token_is_a_401(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)

    # when
    response = api_client.post(LOGOUT_URL, {"refresh": tokens["access"]})

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has wrong type", "code": "token_not_valid"}
    assert BlacklistedToken.objects.count() == 0
    assert api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 200


def test_logout_without_a_refresh_token_is_a_400(api_client: APIClient, user: User) -> None:
    # when
    response = api_client.post(LOGOUT_URL, {})

    # then
    assert response.status_code == 400
    assert response.json() == {"refresh": ["This field is required."]}
    assert BlacklistedToken.objects.count() == 0


def test_logout_leaves_the_users_other_sessions_alone(api_client: APIClient, user: User) -> None:
    # given: two sign-ins, two devices
    phone = sign_in(api_client, user)
    till = sign_in(api_client, user)

    # when
    assert api_client.post(LOGOUT_URL, {"refresh": phone["refresh"]}).status_code == 204

    # then
    assert api_client.post(REFRESH_URL, {"refresh": till["refresh"]}).status_code == 200


# --- GET /api/me/ ---------------------------------------------------------------------------


def test_me_lists_the_users_stores_with_their_role_in_each(
    client_for: Callable[..., APIClient], store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given: store_a's cashier also manages store_b
    cashier = store_a.cashier
    MembershipFactory(user=cashier, store=store_b.store, role=Membership.Role.MANAGER)

    # when
    response = client_for(cashier).get(ME_URL)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": cashier.id,
        "email": cashier.email,
        "full_name": cashier.full_name,
        "stores": [
            store_item(store_a.store, "cashier"),
            store_item(store_b.store, "manager"),
        ],
    }


def test_me_leaves_out_inactive_memberships_and_inactive_stores(
    client_for: Callable[..., APIClient], store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given
    owner = store_a.owner
    MembershipFactory(user=owner, store=store_b.store, role="cashier", is_active=False)
    closed_store = StoreFactory(is_active=False)
    MembershipFactory(user=owner, store=closed_store, role="owner")

    # when
    response = client_for(owner).get(ME_URL)

    # then
    assert response.status_code == 200
    assert response.json()["stores"] == [store_item(store_a.store, "owner")]


def test_me_of_a_user_without_stores_has_an_empty_list(
    client_for: Callable[..., APIClient], user: User
) -> None:
    # when
    response = client_for(user).get(ME_URL)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "stores": [],
    }


def test_me_anonymous_is_a_401(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get(ME_URL)

    # then
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


def test_me_with_a_refresh_token_as_bearer_is_a_401(api_client: APIClient, user: User) -> None:
    # given
    tokens = sign_in(api_client, user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")

    # when
    response = api_client.get(ME_URL)

    # then
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_me_of_a_deactivated_user_is_a_401(
    client_for: Callable[..., APIClient], user: User
) -> None:
    # given
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    # when
    response = client.get(ME_URL)

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "User is inactive", "code": "user_inactive"}


# --- GET /api/stores/ -----------------------------------------------------------------------


def test_stores_list_is_me_stores_paginated(
    client_for: Callable[..., APIClient], store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given
    manager = store_a.manager
    MembershipFactory(user=manager, store=store_b.store, role=Membership.Role.OWNER)
    MembershipFactory(user=manager, store=StoreFactory(is_active=False))
    client = client_for(manager)

    # when
    response = client.get(STORES_URL)

    # then
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            store_item(store_a.store, "manager"),
            store_item(store_b.store, "owner"),
        ],
    }
    assert response.json()["results"] == client.get(ME_URL).json()["stores"]


def test_stores_list_honours_page_size(
    client_for: Callable[..., APIClient], store_a: StoreWithStaff, store_b: StoreWithStaff
) -> None:
    # given
    owner = store_a.owner
    MembershipFactory(user=owner, store=store_b.store, role=Membership.Role.CASHIER)
    client = client_for(owner)

    # when
    first = client.get(STORES_URL, {"page_size": 1})
    second = client.get(STORES_URL, {"page_size": 1, "page": 2})

    # then
    assert first.status_code == 200
    assert first.json() == {
        "count": 2,
        "next": "http://testserver/api/stores/?page=2&page_size=1",
        "previous": None,
        "results": [store_item(store_a.store, "owner")],
    }
    assert second.json() == {
        "count": 2,
        "next": None,
        "previous": "http://testserver/api/stores/?page_size=1",
        "results": [store_item(store_b.store, "cashier")],
    }


def test_stores_list_caps_page_size_at_200(
    client_for: Callable[..., APIClient], user: User
) -> None:
    # given: 201 stores
    stores = Store.objects.bulk_create(StoreFactory.build() for _ in range(201))
    Membership.objects.bulk_create(
        Membership(user=user, store=store, role=Membership.Role.OWNER) for store in stores
    )

    # when
    response = client_for(user).get(STORES_URL, {"page_size": 1000})

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 201
    assert len(body["results"]) == 200
    assert body["next"] == "http://testserver/api/stores/?page=2&page_size=1000"
    assert [item["id"] for item in body["results"]] == [store.id for store in stores[:200]]


def test_stores_list_page_out_of_range_is_a_404(
    client_for: Callable[..., APIClient], store_a: StoreWithStaff
) -> None:
    # when
    response = client_for(store_a.owner).get(STORES_URL, {"page": 5})

    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "code": "not_found"}


def test_stores_list_anonymous_is_a_401(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get(STORES_URL)

    # then
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
