"""Stores services (`user_create`) and `stores.naming`; helpers the onboarding tests share."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.models import Register
from stores import naming, services
from stores.models import Membership, Store, User
from tests.conftest import STORE_SCHEMAS, schema_names, tenant_tables
from tests.factories import DEFAULT_PASSWORD, UserFactory

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
