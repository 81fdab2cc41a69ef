"""Onboarding's services: `store_onboard` and `store_signup`, all or nothing."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState

from onboarding import services
from stores.models import Store, User
from tests.conftest import schema_names, tenant_tables
from tests.factories import DEFAULT_PASSWORD, StoreFactory, UserFactory
from tests.stores.test_services import (
    LONG_NAME,
    REFERENCE_SCHEMA,
    SLUG_MAX_LENGTH,
    assert_is_valid_schema_name,
    assert_onboarded,
    onboarding_state,
)

# --- store_onboard ----------------------------------------------------------------------------


def test_store_onboard_creates_the_store_its_schema_owner_and_main_register(db: None) -> None:
    # given
    owner = UserFactory()
    before = schema_names()

    # when
    store = services.store_onboard(
        owner=owner,
        name="  Новый Тестовый Магазин 2 ",
        currency="RUB",
        timezone="Europe/Moscow",
        prices_include_tax=False,
    )

    # then
    stored = Store.objects.get()
    assert stored == store
    assert (
        stored.name,
        stored.slug,
        stored.schema_name,
        stored.currency,
        stored.timezone,
        stored.prices_include_tax,
        stored.is_active,
    ) == (
        "Новый Тестовый Магазин 2",
        "novyi-testovyi-magazin-2",
        "tenant_novyi_testovyi_magazin_2",
        "RUB",
        "Europe/Moscow",
        False,
        True,
    )
    assert re.fullmatch(r"novyi_testovyi_magazin_2_[0-9a-f]{8}", stored.tenant_key)
    assert schema_names() - before == {"tenant_novyi_testovyi_magazin_2"}
    assert_onboarded(store, owner)
    assert connection.schema_name == "public"


def test_store_onboard_numbers_stores_of_the_same_name(db: None) -> None:
    # given
    owner = UserFactory()

    # when
    stores = [
        services.store_onboard(owner=owner, name="Test Shop", currency="EUR", timezone="UTC")
        for _ in range(3)
    ]

    # then
    assert [(store.name, store.slug, store.schema_name) for store in stores] == [
        ("Test Shop", "test-shop", "tenant_test_shop"),
        ("Test Shop", "test-shop-2", "tenant_test_shop_2"),
        ("Test Shop", "test-shop-3", "tenant_test_shop_3"),
    ]
    keys = [store.tenant_key for store in stores]
    assert re.fullmatch(r"test_shop_[0-9a-f]{8}", keys[0])
    assert re.fullmatch(r"test_shop_2_[0-9a-f]{8}", keys[1])
    assert re.fullmatch(r"test_shop_3_[0-9a-f]{8}", keys[2])
    assert len({key.rsplit("_", 1)[1] for key in keys}) == 3
    assert {"tenant_test_shop", "tenant_test_shop_2", "tenant_test_shop_3"} <= schema_names()
    for store in stores:
        assert_onboarded(store, owner)


def test_store_onboard_skips_taken_slugs_and_orphan_schemas(db: None) -> None:
    # given a store row holding the first slug, and a schema left without a row holding the second
    owner = UserFactory()
    StoreFactory(name="Orphan Shop", slug="orphan-shop", schema_name=REFERENCE_SCHEMA)
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "tenant_orphan_shop_2"')

    # when
    store = services.store_onboard(owner=owner, name="Orphan Shop", currency="EUR", timezone="UTC")

    # then
    assert (store.slug, store.schema_name) == ("orphan-shop-3", "tenant_orphan_shop_3")
    assert re.fullmatch(r"orphan_shop_3_[0-9a-f]{8}", store.tenant_key)
    assert tenant_tables("tenant_orphan_shop_2") == []
    assert_onboarded(store, owner)


def test_store_onboard_of_a_200_character_name(db: None) -> None:
    # given
    owner = UserFactory()

    # when
    store = services.store_onboard(owner=owner, name=LONG_NAME, currency="EUR", timezone="UTC")

    # then
    stored = Store.objects.get()
    assert stored.name == LONG_NAME
    assert stored.slug == "supermarket-supermarket-supermarket"
    assert len(stored.slug) <= SLUG_MAX_LENGTH
    assert stored.schema_name == "tenant_supermarket_supermarket_supermarket"
    assert_is_valid_schema_name(stored.schema_name)
    assert re.fullmatch(r"supermarket_supermarket_supermarket_[0-9a-f]{8}", stored.tenant_key)
    assert_onboarded(store, owner)


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_store_onboard_rejects_an_empty_name(db: None, name: str) -> None:
    # given
    owner = UserFactory()
    before = onboarding_state()

    # when
    with pytest.raises(ValidationError) as caught:
        services.store_onboard(owner=owner, name=name, currency="EUR", timezone="UTC")

    # then
    assert caught.value.message_dict == {"store_name": ["A store needs a name."]}
    assert onboarding_state() == before


@pytest.mark.parametrize(
    ("currency", "timezone", "errors"),
    [
        ("XXY", "UTC", {"currency": ["'XXY' is not an ISO 4217 currency code."]}),
        ("EUR", "Mars/Olympus", {"timezone": ["'Mars/Olympus' is not an IANA time zone."]}),
    ],
)
def test_store_onboard_rejects_an_unknown_currency_or_time_zone_under_its_field(
    db: None, currency: str, timezone: str, errors: dict[str, list[str]]
) -> None:
    # given
    owner = UserFactory()
    before = onboarding_state()

    # when
    with pytest.raises(ValidationError) as caught:
        services.store_onboard(owner=owner, name="Shop", currency=currency, timezone=timezone)

    # then: keyed by field like `store_name`, so callers and the API's handler can tell which
    assert caught.value.message_dict == errors
    assert onboarding_state() == before


# --- store_signup -----------------------------------------------------------------------------


def test_store_signup_without_a_user_creates_the_owner_and_the_store(db: None) -> None:
    # given
    before = schema_names()

    # when
    signup = services.store_signup(
        user=None,
        name="Café Crème",
        currency="EUR",
        timezone="Europe/Paris",
        owner_email="Anna@Example.com",
        owner_password=DEFAULT_PASSWORD,
        owner_full_name="Anna",
    )

    # then
    user = User.objects.get()
    assert signup.user == user
    assert (user.email, user.full_name) == ("anna@example.com", "Anna")
    assert user.check_password(DEFAULT_PASSWORD)
    assert signup.store == Store.objects.get()
    assert (signup.store.slug, signup.store.schema_name) == ("cafe-creme", "tenant_cafe_creme")
    assert schema_names() - before == {"tenant_cafe_creme"}
    assert_onboarded(signup.store, user)


def test_store_signup_for_an_existing_user_creates_no_user(db: None) -> None:
    # given
    user = UserFactory()

    # when
    signup = services.store_signup(
        user=user,
        name="北京商店",
        currency="CNY",
        timezone="Asia/Shanghai",
        owner_email="ignored@example.com",
        owner_password="123",
    )

    # then
    assert signup.user == user
    assert list(User.objects.all()) == [user]
    assert (signup.store.slug, signup.store.schema_name) == (
        "bei-jing-shang-dian",
        "tenant_bei_jing_shang_dian",
    )
    assert_onboarded(signup.store, user)


def test_store_signup_with_an_empty_store_name_leaves_no_user(db: None) -> None:
    # given
    before = onboarding_state()

    # when
    with pytest.raises(ValidationError) as caught:
        services.store_signup(
            user=None,
            name="   ",
            currency="EUR",
            timezone="UTC",
            owner_email="anna@example.com",
            owner_password=DEFAULT_PASSWORD,
        )

    # then: the user was created first, and rolled back with the rest
    assert caught.value.message_dict == {"store_name": ["A store needs a name."]}
    assert onboarding_state() == before


def test_store_signup_failing_halfway_through_the_migrations_leaves_nothing_and_can_be_retried(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a migration that fails once the new schema already holds a tenant table
    apply_migration = MigrationExecutor.apply_migration
    failed_in: dict[str, object] = {}

    def fail_halfway(
        self: MigrationExecutor,
        state: ProjectState,
        migration: Migration,
        *args: object,
        **kwargs: object,
    ) -> ProjectState:
        tables = tenant_tables(connection.schema_name)
        if tables:
            failed_in.update(schema=connection.schema_name, tables=tables)
            raise RuntimeError("migration failed")
        return apply_migration(self, state, migration, *args, **kwargs)

    monkeypatch.setattr(MigrationExecutor, "apply_migration", fail_halfway)
    # the slow path: schemas made by migrations, as when no template is ready
    monkeypatch.setattr("stores.provisioning.template_is_ready", lambda: False)
    before = onboarding_state()

    # when
    with pytest.raises(RuntimeError, match="migration failed"):
        services.store_signup(
            user=None,
            name="Half Built",
            currency="EUR",
            timezone="UTC",
            owner_email="anna@example.com",
            owner_password=DEFAULT_PASSWORD,
        )

    # then
    assert failed_in["schema"] == "tenant_half_built"
    assert failed_in["tables"]
    assert onboarding_state() == before

    # and the connection is usable for a retry (a command or task onboarding several stores)
    monkeypatch.undo()
    retried = services.store_signup(
        user=None,
        name="Half Built",
        currency="EUR",
        timezone="UTC",
        owner_email="anna@example.com",
        owner_password=DEFAULT_PASSWORD,
    )
    assert retried.store.schema_name == "tenant_half_built"
    assert_onboarded(retried.store, retried.user)
    assert connection.schema_name == "public"
