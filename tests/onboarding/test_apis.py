"""POST /api/stores/signup/ over HTTP: onboarding as POS frontends and owners' tools call it."""

import re
from collections.abc import Callable
from datetime import datetime

import pytest
from django.db import connection, connections
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from rest_framework.test import APIClient

from onboarding import services
from stores.models import Membership, Store, User
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, schema_names, tenant_tables
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.stores.test_services import REFERENCE_SCHEMA, assert_onboarded, onboarding_state

URL = "/api/stores/signup/"


def signup_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "store_name": "Тестовый Магазин",
        "currency": "RUB",
        "timezone": "Europe/Moscow",
        "prices_include_tax": True,
        "owner": {"email": "boris@example.com", "password": DEFAULT_PASSWORD, "full_name": "Boris"},
    }
    body.update(changes)
    return body


def bearer(client: APIClient, access: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- success ----------------------------------------------------------------------------------


def test_anonymous_signup_creates_the_owner_the_store_and_its_schema(
    db: None, api_client: APIClient
) -> None:
    # given
    schemas_before = schema_names()
    body = signup_body(
        owner={"email": "Anna@Example.COM", "password": DEFAULT_PASSWORD, "full_name": "Anna"}
    )

    # when
    response = api_client.post(URL, body, format="json")

    # then the answer is the contract's
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    store = Store.objects.get()
    user = User.objects.get()
    answer = response.json()
    tokens = answer.pop("tokens")
    created_at = answer["store"].pop("created_at")
    assert answer == {
        "store": {
            "id": store.id,
            "name": "Тестовый Магазин",
            "slug": "testovyi-magazin",
            "schema_name": "tenant_testovyi_magazin",
            "tenant_key": store.tenant_key,
            "currency": "RUB",
            "timezone": "Europe/Moscow",
            "prices_include_tax": True,
        },
        "user": {"id": user.id, "email": "anna@example.com", "full_name": "Anna"},
    }
    assert re.fullmatch(r"testovyi_magazin_[0-9a-f]{8}", store.tenant_key)
    assert datetime.fromisoformat(created_at) == store.created_at
    assert datetime.fromisoformat(created_at).tzinfo is not None
    assert sorted(tokens) == ["access", "refresh"]

    # and the rows and the schema are there
    assert (user.email, user.full_name, user.is_active) == ("anna@example.com", "Anna", True)
    assert user.check_password(DEFAULT_PASSWORD)
    assert (store.slug, store.schema_name, store.is_active) == (
        "testovyi-magazin",
        "tenant_testovyi_magazin",
        True,
    )
    assert schema_names() - schemas_before == {"tenant_testovyi_magazin"}
    assert_onboarded(store, user)

    # and the tokens work, for the public API and inside the new store
    client = bearer(APIClient(), tokens["access"])
    me = client.get("/api/me/")
    assert me.status_code == 200
    assert me.json() == {
        "id": user.id,
        "email": "anna@example.com",
        "full_name": "Anna",
        "stores": [
            {
                "id": store.id,
                "name": "Тестовый Магазин",
                "slug": "testovyi-magazin",
                "tenant_key": store.tenant_key,
                "role": "owner",
            }
        ],
    }
    registers = client.get("/api/sales/registers/", HTTP_X_TENANT_KEY=store.tenant_key)
    assert registers.status_code == 200
    assert registers.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [{"id": 1, "name": "Main register", "is_active": True}],
    }
    refreshed = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert sorted(refreshed.json()) == ["access", "refresh"]


def test_signup_uppercases_the_currency_and_defaults_prices_include_tax(
    db: None, api_client: APIClient
) -> None:
    # given
    body = signup_body(currency="eur", timezone="Europe/Berlin")
    del body["prices_include_tax"]

    # when
    response = api_client.post(URL, body, format="json")

    # then
    assert response.status_code == 201, response.content
    store = Store.objects.get()
    assert (response.json()["store"]["currency"], store.currency) == ("EUR", "EUR")
    assert (response.json()["store"]["prices_include_tax"], store.prices_include_tax) == (
        True,
        True,
    )


@pytest.mark.parametrize(
    ("store_name", "slug"),
    [("🛒🛍️", "store"), ("2024", "store-2024")],
)
def test_signup_gives_names_without_letters_a_readable_slug(
    db: None, api_client: APIClient, store_name: str, slug: str
) -> None:
    # when
    response = api_client.post(URL, signup_body(store_name=store_name), format="json")

    # then
    assert response.status_code == 201, response.content
    answer = response.json()["store"]
    schema_name = "tenant_" + slug.replace("-", "_")
    assert (answer["name"], answer["slug"], answer["schema_name"]) == (
        store_name,
        slug,
        schema_name,
    )
    assert re.fullmatch(rf"{slug.replace('-', '_')}_[0-9a-f]{{8}}", answer["tenant_key"])
    assert schema_name in schema_names()


def test_authenticated_signup_makes_the_caller_owner_of_one_more_store(
    store_a: StoreWithStaff, client_for: Callable[..., APIClient]
) -> None:
    # given an owner of one store, signing up another without `owner`
    owner = store_a.owner
    users_before = list(User.objects.order_by("id"))
    body = signup_body()
    del body["owner"]

    # when
    response = client_for(owner).post(URL, body, format="json")

    # then
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["user"] == {"id": owner.id, "email": owner.email, "full_name": owner.full_name}
    new_store = Store.objects.get(slug="testovyi-magazin")
    assert answer["store"]["id"] == new_store.id
    assert list(User.objects.order_by("id")) == users_before
    memberships = Membership.objects.filter(user=owner).order_by("store_id")
    assert list(memberships.values_list("store_id", "role")) == [
        (store_a.store.id, "owner"),
        (new_store.id, "owner"),
    ]
    assert_onboarded(new_store, owner)
    me = bearer(APIClient(), answer["tokens"]["access"]).get("/api/me/")
    assert [(item["id"], item["role"]) for item in me.json()["stores"]] == [
        (store_a.store.id, "owner"),
        (new_store.id, "owner"),
    ]


def test_authenticated_signup_ignores_owner(db: None, client_for: Callable[..., APIClient]) -> None:
    # given a caller who also sends an `owner`, one that would not even validate
    user = UserFactory()
    body = signup_body(owner={"email": "someone.else@example.com", "password": "123"})

    # when
    response = client_for(user).post(URL, body, format="json")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["user"] == {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
    }
    assert list(User.objects.all()) == [user]
    store = Store.objects.get()
    assert list(Membership.objects.values_list("user_id", "store_id", "role")) == [
        (user.id, store.id, "owner")
    ]


# --- bad input --------------------------------------------------------------------------------

TAKEN_EMAIL = (
    "A user with this email already exists: sign in, then sign up the store with your token."
)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            signup_body(owner={"email": "anna@example.com", "password": DEFAULT_PASSWORD}),
            {"owner": {"email": [TAKEN_EMAIL]}},
            id="taken-email",
        ),
        pytest.param(
            signup_body(owner={"email": "ANNA@example.com", "password": DEFAULT_PASSWORD}),
            {"owner": {"email": [TAKEN_EMAIL]}},
            id="taken-email-other-case",
        ),
        pytest.param(
            signup_body(owner={"email": "boris@example.com", "password": "123"}),
            {
                "owner": {
                    "password": [
                        "This password is too short. It must contain at least 8 characters.",
                        "This password is too common.",
                        "This password is entirely numeric.",
                    ]
                }
            },
            id="short-common-numeric-password",
        ),
        pytest.param(
            signup_body(owner={"email": "anna.karenina@example.com", "password": "annakarenina"}),
            {"owner": {"password": ["The password is too similar to the email."]}},
            id="password-like-email",
        ),
        pytest.param(
            signup_body(owner={"email": "not-an-email", "password": DEFAULT_PASSWORD}),
            {"owner": {"email": ["Enter a valid email address."]}},
            id="malformed-email",
        ),
        pytest.param(
            signup_body(currency="XXY"),
            {"currency": ["'XXY' is not an ISO 4217 currency code."]},
            id="unknown-currency",
        ),
        pytest.param(
            signup_body(timezone="Mars/Olympus"),
            {"timezone": ["'Mars/Olympus' is not an IANA time zone."]},
            id="unknown-time-zone",
        ),
        pytest.param(
            signup_body(store_name=""),
            {"store_name": ["This field may not be blank."]},
            id="empty-store-name",
        ),
        pytest.param(
            signup_body(store_name=" \t "),
            {"store_name": ["This field may not be blank."]},
            id="blank-store-name",
        ),
        pytest.param(
            signup_body(store_name="x" * 201),
            {"store_name": ["Ensure this field has no more than 200 characters."]},
            id="long-store-name",
        ),
        pytest.param(
            signup_body(store_name="Shop\x00"),
            {"store_name": ["Null characters are not allowed."]},
            id="null-character",
        ),
        pytest.param(
            {key: value for key, value in signup_body().items() if key != "owner"},
            {"owner": ["Required when signing up without a Bearer token."]},
            id="missing-owner",
        ),
        pytest.param(
            {},
            {
                "store_name": ["This field is required."],
                "currency": ["This field is required."],
                "timezone": ["This field is required."],
            },
            id="empty-object",
        ),
        pytest.param(
            {
                "store_name": ["Shop"],
                "currency": None,
                "timezone": {"zone": "UTC"},
                "prices_include_tax": "maybe",
                "owner": "anna@example.com",
            },
            {
                "store_name": ["Not a valid string."],
                "currency": ["This field may not be null."],
                "timezone": ["Not a valid string."],
                "prices_include_tax": ["Must be a valid boolean."],
                "owner": {
                    "non_field_errors": ["Invalid data. Expected a dictionary, but got str."]
                },
            },
            id="wrong-types",
        ),
        pytest.param(
            [signup_body()],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
            id="list-body",
        ),
        pytest.param(
            "Тестовый Магазин",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
            id="string-body",
        ),
    ],
)
def test_anonymous_signup_rejects_bad_input_and_leaves_nothing(
    db: None, api_client: APIClient, body: object, errors: dict[str, object]
) -> None:
    # given
    UserFactory(email="anna@example.com")
    before = onboarding_state()

    # when
    response = api_client.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert onboarding_state() == before


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("{not json", "JSON parse error - Expecting property name enclosed in double quotes"),
        ('{"store_name": "Shop",', "JSON parse error - Expecting property name enclosed in double"),
    ],
)
def test_malformed_json_is_a_400_with_detail_and_code(
    db: None, api_client: APIClient, content: str, detail: str
) -> None:
    # given
    before = onboarding_state()

    # when
    response = api_client.post(URL, content, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert sorted(answer) == ["code", "detail"]
    assert answer["code"] == "parse_error"
    assert answer["detail"].startswith(detail), answer["detail"]
    assert onboarding_state() == before


def test_authenticated_signup_with_bad_input_adds_no_store(
    store_a: StoreWithStaff, client_for: Callable[..., APIClient]
) -> None:
    # given
    before = onboarding_state()

    # when
    response = client_for(store_a.owner).post(
        URL, signup_body(store_name="  ", currency="XXY"), format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json() == {
        "store_name": ["This field may not be blank."],
        "currency": ["'XXY' is not an ISO 4217 currency code."],
    }
    assert onboarding_state() == before


# --- failures after the checks: nothing is left behind (real commits) -------------------------


def assert_nothing_left_behind() -> None:
    assert list(User.objects.values_list("email", flat=True)) == []
    assert list(Store.objects.values_list("slug", flat=True)) == []
    assert list(Membership.objects.values_list("id", flat=True)) == []
    assert {name for name in schema_names() if name.startswith("tenant_")} == set(STORE_SCHEMAS)


SERVER_ERROR = {"detail": "Internal server error.", "code": "server_error"}


def test_signup_failing_halfway_through_the_schema_migrations_leaves_nothing_behind(
    committed_stores: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the second migration into the new schema fails
    apply_migration = MigrationExecutor.apply_migration
    applied_in: list[str] = []

    def fail_on_second(
        self: MigrationExecutor,
        state: ProjectState,
        migration: Migration,
        *args: object,
        **kwargs: object,
    ) -> ProjectState:
        applied_in.append(connection.schema_name)
        if len(applied_in) == 2:
            raise RuntimeError("migration failed")
        return apply_migration(self, state, migration, *args, **kwargs)

    monkeypatch.setattr(MigrationExecutor, "apply_migration", fail_on_second)
    # the slow path: schemas made by migrations, as when no template is ready
    monkeypatch.setattr("stores.provisioning.template_is_ready", lambda: False)
    client = APIClient(raise_request_exception=False)

    # when
    response = client.post(URL, signup_body(), format="json")

    # then
    assert applied_in == ["tenant_testovyi_magazin", "tenant_testovyi_magazin"]
    assert response.status_code == 500
    assert response.json() == SERVER_ERROR
    assert_nothing_left_behind()


def test_signup_failing_after_the_schema_is_migrated_leaves_nothing_behind(
    committed_stores: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the schema is complete when creating the main register fails
    tables_at_failure: list[str] = []

    def fail(**kwargs: object) -> None:
        tables_at_failure.extend(sorted(tenant_tables(connection.schema_name)))
        raise RuntimeError("register failed")

    monkeypatch.setattr(services, "register_create", fail)
    client = APIClient(raise_request_exception=False)

    # when
    response = client.post(URL, signup_body(), format="json")

    # then
    assert tables_at_failure == sorted(tenant_tables(REFERENCE_SCHEMA))
    assert response.status_code == 500
    assert response.json() == SERVER_ERROR
    assert_nothing_left_behind()


def test_committed_signup_keeps_its_schema(committed_stores: None) -> None:
    # when
    response = APIClient().post(URL, signup_body(), format="json")

    # then the schema is there for every connection, not just inside the request's transaction
    assert response.status_code == 201, response.content
    store = Store.objects.get()
    user = User.objects.get()
    assert_onboarded(store, user)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s", [store.schema_name]
            )
            (table_count,) = cursor.fetchone()
    finally:
        other.close()
    assert table_count == len(tenant_tables(REFERENCE_SCHEMA)) + 1  # and django_migrations
