"""Onboarding services (`user_create`, `store_onboard`, `store_signup`) and `stores.naming`."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from django_tenants.utils import schema_context
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.models import Register
from stores import naming, services
from stores.models import Membership, Store, User
from tests.conftest import STORE_SCHEMAS, schema_names, tenant_tables
from tests.factories import DEFAULT_PASSWORD, StoreFactory, UserFactory

SLUG_PATTERN = re.compile(r"\A[a-z0-9]+(-[a-z0-9]+)*\Z")
SCHEMA_NAME_PATTERN = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
SLUG_MAX_LENGTH = Store._meta.get_field("slug").max_length
SCHEMA_NAME_MAX_BYTES = 63
# A store schema migrated by `migrate_schemas` at the start of the run: the reference for
# what every new store's schema must hold.
REFERENCE_SCHEMA = STORE_SCHEMAS[0]
LONG_NAME = ("Супермаркет " * 17)[:200]


def applied_migrations(schema_name: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')
        return set(cursor.fetchall())


def assert_is_valid_schema_name(schema_name: str) -> None:
    assert SCHEMA_NAME_PATTERN.match(schema_name), schema_name
    assert len(schema_name.encode()) <= SCHEMA_NAME_MAX_BYTES
    assert schema_name != "public"
    assert not schema_name.startswith("pg_")


def assert_onboarded(store: Store, owner: User) -> None:
    """The store's schema holds every tenant table, its owner and exactly one "Main register"."""
    tables = sorted(tenant_tables(store.schema_name))
    assert "sales_register" in tables
    assert tables == sorted(tenant_tables(REFERENCE_SCHEMA))
    assert applied_migrations(store.schema_name) == applied_migrations(REFERENCE_SCHEMA)
    memberships = Membership.objects.filter(store=store).values_list("user_id", "role", "is_active")
    assert list(memberships) == [(owner.id, Membership.Role.OWNER, True)]
    with schema_context(store.schema_name):
        registers = Register.objects.values_list("id", "name", "is_active")
        assert list(registers) == [(1, "Main register", True)]


def onboarding_state() -> dict[str, object]:
    """What an onboarding writes: users, stores, memberships and schemas."""
    return {
        "users": sorted(User.objects.values_list("email", flat=True)),
        "stores": sorted(Store.objects.values_list("slug", flat=True)),
        "memberships": sorted(Membership.objects.values_list("user_id", "store_id", "role")),
        "schemas": schema_names(),
    }


# --- stores.naming ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        pytest.param("Новый Тестовый Магазин 2", "novyi-testovyi-magazin-2", id="cyrillic"),
        pytest.param("Тестовый Магазин", "testovyi-magazin", id="cyrillic-contract-example"),
        pytest.param("北京商店", "bei-jing-shang-dian", id="cjk"),
        pytest.param("Café Crème", "cafe-creme", id="accents"),
        pytest.param("Straße Łódź", "strasse-lodz", id="latin-extended"),
        pytest.param("Δέλτα", "delta", id="greek"),
        pytest.param("  Test   Shop!  ", "test-shop", id="spaces-and-punctuation"),
        pytest.param("🛒🛍️", "store", id="emoji-only"),
        pytest.param("!!! ... ???", "store", id="punctuation-only"),
        pytest.param("   ", "store", id="whitespace-only"),
        pytest.param("2024", "store-2024", id="numeric-only"),
        pytest.param("12 34", "store-12-34", id="numbers-only"),
    ],
)
def test_base_slug_transliterates_any_script_to_an_ascii_slug(name: str, slug: str) -> None:
    assert naming.base_slug(name) == slug


def test_base_slug_of_a_200_character_name_leaves_room_for_a_number() -> None:
    # given
    assert len(LONG_NAME) == 200

    # when
    slug = naming.base_slug(LONG_NAME)

    # then
    assert slug == "supermarket-supermarket-supermarket"
    numbered = naming.numbered_slug(slug, 999)
    assert len(numbered) <= SLUG_MAX_LENGTH
    assert_is_valid_schema_name(naming.schema_name_for(numbered))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        pytest.param(
            "Продуктовый магазин Пятёрочка на улице Ленина 12",
            "produktovyi-magazin-piaterochka-na",
            id="cyrillic-address",
        ),
        pytest.param(
            "Интернет-магазин бытовой техники и электроники в Москве",
            "internet-magazin-bytovoi-tekhniki-i",
            id="cyrillic-long",
        ),
        pytest.param(
            "The Extraordinarily Wonderful Supermarket of Downtown Springfield",
            "the-extraordinarily-wonderful",
            id="english-long",
        ),
    ],
)
def test_base_slug_of_a_long_name_keeps_its_first_words_in_order(name: str, slug: str) -> None:
    # A long name is cut after its last whole word that fits: later, shorter words are not
    # pulled forward ("…-na-12" would name another address).
    assert naming.base_slug(name) == slug


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=200))
def test_any_name_gives_a_valid_slug_and_schema_name(name: str) -> None:
    slug = naming.base_slug(name)

    assert SLUG_PATTERN.match(slug), slug
    assert not slug.replace("-", "").isdigit()
    assert len(slug) <= naming.SLUG_BASE_MAX_LENGTH
    for number in (1, 2, 999):
        numbered = naming.numbered_slug(slug, number)
        assert len(numbered) <= SLUG_MAX_LENGTH
        assert_is_valid_schema_name(naming.schema_name_for(numbered))


def test_numbered_slug_and_schema_name() -> None:
    assert naming.numbered_slug("test-shop", 1) == "test-shop"
    assert naming.numbered_slug("test-shop", 2) == "test-shop-2"
    assert naming.schema_name_for("test-shop-2") == "tenant_test_shop_2"
    assert naming.schema_name_for("public") == "tenant_public"
    assert naming.schema_name_for("pg-catalog") == "tenant_pg_catalog"


def test_new_tenant_key_is_the_slug_with_random_hex() -> None:
    keys = [naming.new_tenant_key("test-shop-2") for _ in range(20)]

    assert all(re.fullmatch(r"test_shop_2_[0-9a-f]{8}", key) for key in keys), keys
    assert len(set(keys)) == 20


# --- user_create ------------------------------------------------------------------------------


def test_user_create_lowercases_the_email_and_hashes_the_password(db: None) -> None:
    # when
    user = services.user_create(
        email="  Anna@Example.COM ", password=DEFAULT_PASSWORD, full_name="Anna"
    )

    # then
    stored = User.objects.get()
    assert stored == user
    assert (stored.email, stored.full_name, stored.is_active, stored.is_staff) == (
        "anna@example.com",
        "Anna",
        True,
        False,
    )
    assert stored.password != DEFAULT_PASSWORD
    assert stored.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("email", ["anna@example.com", "ANNA@example.com"])
def test_user_create_rejects_a_taken_email_in_any_case(db: None, email: str) -> None:
    # given
    UserFactory(email="anna@example.com")
    before = onboarding_state()

    # when
    with pytest.raises(ValidationError) as caught:
        services.user_create(email=email, password=DEFAULT_PASSWORD)

    # then
    assert caught.value.message_dict == {"email": ["A user with this email already exists."]}
    assert onboarding_state() == before


@pytest.mark.parametrize(
    ("email", "password", "messages"),
    [
        (
            "anna@example.com",
            "123",
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        (
            "anna.karenina@example.com",
            "annakarenina",
            ["The password is too similar to the email."],
        ),
    ],
)
def test_user_create_rejects_a_weak_password(
    db: None, email: str, password: str, messages: list[str]
) -> None:
    # given
    before = onboarding_state()

    # when
    with pytest.raises(ValidationError) as caught:
        services.user_create(email=email, password=password)

    # then
    assert caught.value.message_dict == {"password": messages}
    assert onboarding_state() == before


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
