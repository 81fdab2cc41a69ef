"""`manage.py doctor`: each problem seeded by hand on real schemas, found, and repaired or not."""

import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from catalog.models import Product
from ops.doctor import is_valid_schema_name, repaired_schema_name
from sales.models import Register
from sales.services import MAIN_REGISTER_NAME
from stores.migration_state import schemas_behind
from stores.models import Membership, Store
from tests.catalog.factories import ProductFactory
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store, schema_names, tenant_tables
from tests.factories import MembershipFactory, StoreFactory

ALPHA, BETA, GAMMA = STORE_SCHEMAS
HYPHENATED = "tenant_test-beta"  # the old system's kind of name, for the beta store


def doctor(*args: str) -> tuple[int, str]:
    """The command's exit status and its output."""
    out = io.StringIO()
    try:
        call_command("doctor", *args, stdout=out, no_color=True)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def doctor_json(*args: str) -> tuple[int, dict]:
    status, output = doctor("--json", *args)
    return status, json.loads(output)


def codes(document: dict) -> list[tuple[str, str | None, str, bool, bool]]:
    return sorted(
        (item["code"], item["store"], item["schema"], item["fixable"], item["fixed"])
        for item in document["findings"]
    )


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def active_registers(schema_name: str) -> list[str]:
    with schema_context(schema_name):
        return list(Register.objects.filter(is_active=True).values_list("name", flat=True))


def three_stores() -> tuple[StoreWithStaff, StoreWithStaff, StoreWithStaff]:
    """A store on each of the run's schemas: every schema in the database has its store."""
    alpha, beta, gamma = (make_store(name) for name in STORE_SCHEMAS)
    return alpha, beta, gamma


@pytest.fixture
def stores(db: None) -> tuple[StoreWithStaff, StoreWithStaff, StoreWithStaff]:
    return three_stores()


@pytest.fixture
def committed(committed_stores: None) -> Iterator[tuple[StoreWithStaff, ...]]:
    """Stores whose changes commit; the run's schemas are put back should a test lose one."""
    yield three_stores()
    connection.set_schema_to_public()
    # A failed test may leave one missing, or an empty schema under its name: rebuild those.
    for name in schemas_behind(STORE_SCHEMAS):
        sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        Store(schema_name=name).create_schema(check_if_exists=False, verbosity=0)
        connection.set_schema_to_public()
    # New schemas (a renamed one left behind, tenant_ghost, …) are dropped by committed_stores.


def rename_beta_schema_by_hand(beta: Store) -> None:
    sql(f'ALTER SCHEMA "{BETA}" RENAME TO "{HYPHENATED}"')
    Store.objects.filter(pk=beta.pk).update(schema_name=HYPHENATED)


def make_orphan(name: str = "tenant_ghost") -> None:
    sql(f'CREATE SCHEMA "{name}"')
    sql(f'CREATE TABLE "{name}".leftovers (id bigint)')


# --- Names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("tenant_test_shop", True),
        ("_x", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("tenant_novyj-testovyj-magazin-2", False),
        ("Tenant_Shop", False),
        ("1shop", False),
        ("public", False),
        ("pg_shop", False),
        ("", False),
    ],
)
def test_valid_schema_names(name: str, valid: bool) -> None:
    assert is_valid_schema_name(name=name) is valid


@pytest.mark.parametrize(
    ("name", "taken", "repaired"),
    [
        ("tenant_novyj-testovyj-magazin-2", set(), "tenant_novyj_testovyj_magazin_2"),
        ("Tenant_Shop", set(), "tenant_shop"),
        ("tenant_shop ä", set(), "tenant_shop__"),
        ("1shop", set(), "tenant_1shop"),
        ("public", set(), "tenant_public"),
        ("pg_shop", set(), "tenant_pg_shop"),
        ("tenant_a-b", {"tenant_a_b"}, "tenant_a_b_2"),
        ("tenant_a-b", {"tenant_a_b", "tenant_a_b_2"}, "tenant_a_b_3"),
        ("tenant_" + "x" * 60 + "-", set(), "tenant_" + "x" * 56),
        ("tenant_" + "x" * 56, {"tenant_" + "x" * 56}, "tenant_" + "x" * 54 + "_2"),
    ],
)
def test_repaired_schema_names_are_valid_and_unused(name: str, taken: set, repaired: str) -> None:
    assert repaired_schema_name(name=name, taken=taken) == repaired
    assert is_valid_schema_name(name=repaired)


# --- Healthy -----------------------------------------------------------------------------------


def test_healthy_stores_pass(stores: tuple[StoreWithStaff, ...]) -> None:
    assert doctor_json() == (0, {"ok": True, "findings": []})
    status, output = doctor()
    assert (status, output) == (0, "3 store(s) checked, all OK.\n")


def test_fix_on_healthy_stores_changes_nothing(stores: tuple[StoreWithStaff, ...]) -> None:
    before = schema_names()
    assert doctor_json("--fix", "--drop-orphans") == (0, {"ok": True, "findings": []})
    assert schema_names() == before
    assert [active_registers(name) for name in STORE_SCHEMAS] == [[MAIN_REGISTER_NAME]] * 3


def test_service_and_unrelated_schemas_are_not_orphans(
    stores: tuple[StoreWithStaff, ...],
) -> None:
    # given a Kassa service schema that looks like a store's, and a schema of something else
    sql('CREATE SCHEMA "kassa_spare_1"')
    sql('CREATE TABLE "kassa_spare_1".django_migrations (id bigint)')
    sql('CREATE SCHEMA "reporting"')
    sql('CREATE TABLE "reporting".totals (id bigint)')
    assert doctor_json("--fix", "--drop-orphans") == (0, {"ok": True, "findings": []})
    assert {"kassa_spare_1", "reporting"} <= schema_names()


# --- Each problem, reported ----------------------------------------------------------------------


def test_missing_schema_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    gamma = stores[2].store
    sql(f'DROP SCHEMA "{GAMMA}" CASCADE')
    status, document = doctor_json()
    assert status == 1
    assert document == {
        "ok": False,
        "findings": [
            {
                "code": "schema_missing",
                "store": gamma.slug,
                "schema": GAMMA,
                "message": "the store's schema does not exist",
                "fixable": True,
                "fixed": False,
            }
        ],
    }


def test_orphan_schema_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    make_orphan()
    # a schema by another name that holds migrations is store-like too
    sql('CREATE SCHEMA "old_shop"')
    sql('CREATE TABLE "old_shop".django_migrations (id bigint)')
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [
        ("orphan_schema", None, "old_shop", False, False),
        ("orphan_schema", None, "tenant_ghost", False, False),
    ]


def test_drop_orphans_without_fix_drops_nothing(stores: tuple[StoreWithStaff, ...]) -> None:
    make_orphan()
    status, document = doctor_json("--drop-orphans")
    assert status == 1
    assert codes(document) == [("orphan_schema", None, "tenant_ghost", True, False)]
    assert "tenant_ghost" in schema_names()
    assert tenant_tables("tenant_ghost") == ["leftovers"]


def test_hyphenated_schema_name_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    beta = stores[1].store
    rename_beta_schema_by_hand(beta)
    status, document = doctor_json()
    assert status == 1
    # only the name: the schema's contents are checked once it has a valid one
    assert codes(document) == [("invalid_schema_name", beta.slug, HYPHENATED, True, False)]


def test_store_on_public_is_reported_and_never_renamed(
    stores: tuple[StoreWithStaff, ...],
) -> None:
    beta = stores[1].store
    Store.objects.filter(pk=beta.pk).update(schema_name="public")
    sql(f'DROP SCHEMA "{BETA}" CASCADE')  # else it would be an orphan
    status, document = doctor_json("--fix")
    assert status == 1
    assert codes(document) == [("invalid_schema_name", beta.slug, "public", False, False)]
    assert Store.objects.get(pk=beta.pk).schema_name == "public"
    assert "public" in schema_names()


def test_schema_behind_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    alpha = stores[0].store
    sql(f"DELETE FROM \"{ALPHA}\".django_migrations WHERE app = 'sessions'")
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [("schema_behind", alpha.slug, ALPHA, True, False)]
    assert document["findings"][0]["message"].endswith("(first: sessions.0001_initial)")


def test_store_without_owner_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    alpha, beta = stores[0], stores[1]
    Membership.objects.filter(store=alpha.store, role=Membership.Role.OWNER).delete()
    Membership.objects.filter(store=beta.store, role=Membership.Role.OWNER).update(is_active=False)
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == sorted(
        [
            ("no_owner", alpha.store.slug, ALPHA, False, False),
            ("no_owner", beta.store.slug, BETA, False, False),
        ]
    )


def test_store_without_active_register_is_reported(stores: tuple[StoreWithStaff, ...]) -> None:
    gamma = stores[2]
    with schema_context(GAMMA):
        Register.objects.filter(pk=gamma.register.pk).update(is_active=False)
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [("no_register", gamma.store.slug, GAMMA, True, False)]


def test_yen_amounts_with_cents_from_before_are_reported_never_rounded(
    stores: tuple[StoreWithStaff, ...],
) -> None:
    """A yen store holding 105.50 (money columns kept two places before currencies had their
    own) is found; a euro store's cents are right; nothing is changed."""
    alpha = stores[0]
    Store.objects.filter(pk=alpha.store.pk).update(currency="JPY")
    with schema_context(ALPHA):
        ProductFactory(price=Decimal("105.50"), cost=Decimal("60"))
        ProductFactory(price=Decimal("1055"), cost=Decimal("60.25"))
        ProductFactory(price=Decimal("98"), cost=Decimal("40"))  # whole yen: right
    with schema_context(BETA):
        ProductFactory(price=Decimal("105.50"))  # euro cents: right

    status, document = doctor_json()

    assert status == 1
    assert codes(document) == [("money_places", alpha.store.slug, ALPHA, False, False)]
    (finding,) = document["findings"]
    assert finding["message"] == (
        "2 amount(s) have more places than JPY's 0: catalog_product.cost (1), "
        "catalog_product.price (1); a person must decide how to round them"
    )
    with schema_context(ALPHA):
        assert sorted(Product.objects.values_list("price", flat=True)) == [
            Decimal("98"),
            Decimal("105.50"),
            Decimal("1055"),
        ]


def test_text_output_has_a_line_per_finding_and_a_summary(
    stores: tuple[StoreWithStaff, ...],
) -> None:
    alpha, gamma = stores[0].store, stores[2].store
    Membership.objects.filter(store=alpha, role=Membership.Role.OWNER).delete()
    sql(f'DROP SCHEMA "{GAMMA}" CASCADE')
    status, output = doctor()
    assert status == 1
    assert output.splitlines() == [
        f"[fixable] schema_missing: store {gamma.slug}, schema {GAMMA}: "
        "the store's schema does not exist",
        f"[needs a person] no_owner: store {alpha.slug}, schema {ALPHA}: "
        "no active owner; a person must decide who owns the store",
        "2 problem(s) remaining, 1 of them fixable with --fix.",
    ]


# --- Repairs (committed: schemas are created, renamed and dropped for real) ----------------


def test_fix_repairs_every_fixable_problem_and_reports_the_rest(
    committed: tuple[StoreWithStaff, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    # given one of each problem across the three stores, and an orphan schema
    alpha, beta, gamma = (staffed.store for staffed in committed)
    sql(f"DELETE FROM \"{ALPHA}\".django_migrations WHERE app = 'sessions'")
    Membership.objects.filter(store=alpha, role=Membership.Role.OWNER).delete()
    with schema_context(BETA):
        Register.objects.update(is_active=False)
    rename_beta_schema_by_hand(beta)
    sql(f'DROP SCHEMA "{GAMMA}" CASCADE')
    make_orphan()

    # when the doctor fixes
    status, document = doctor_json("--fix")

    # then everything fixable is fixed, gamma's new schema got its register too, and the
    # orphan and the ownerless store are still reported
    assert status == 1
    assert document["ok"] is False
    assert codes(document) == sorted(
        [
            ("invalid_schema_name", beta.slug, HYPHENATED, True, True),
            ("schema_missing", gamma.slug, GAMMA, True, True),
            ("schema_behind", alpha.slug, ALPHA, True, True),
            ("no_register", beta.slug, BETA, True, True),
            ("no_register", gamma.slug, GAMMA, True, True),
            ("orphan_schema", None, "tenant_ghost", False, False),
            ("no_owner", alpha.slug, ALPHA, False, False),
        ]
    )
    renamed = next(f for f in document["findings"] if f["code"] == "invalid_schema_name")
    assert renamed["message"].endswith(f"; renamed to {BETA}")
    assert Store.objects.get(pk=beta.pk).schema_name == BETA
    assert HYPHENATED not in schema_names()
    assert {ALPHA, BETA, GAMMA, "tenant_ghost"} <= schema_names()
    assert schemas_behind(STORE_SCHEMAS) == []
    assert active_registers(BETA) == [MAIN_REGISTER_NAME]
    assert active_registers(GAMMA) == [MAIN_REGISTER_NAME]
    assert active_registers(ALPHA) == ["Main register"]  # untouched
    assert tenant_tables("tenant_ghost") == ["leftovers"]
    # migrations ran quietly: --json's output is the only thing printed
    assert capsys.readouterr().out == ""

    # and a second look finds only what a person must settle
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [
        ("no_owner", alpha.slug, ALPHA, False, False),
        ("orphan_schema", None, "tenant_ghost", False, False),
    ]


def test_fix_exits_zero_once_everything_is_repaired(committed: tuple[StoreWithStaff, ...]) -> None:
    beta = committed[1].store
    rename_beta_schema_by_hand(beta)
    status, output = doctor("--fix")
    assert status == 0
    assert output.splitlines() == [
        f"[fixed] invalid_schema_name: store {beta.slug}, schema {HYPHENATED}: schema name "
        f"'{HYPHENATED}' is not a plain lowercase identifier; renamed to {BETA}",
        "1 problem(s) fixed; 3 store(s) checked, all OK.",
    ]
    assert doctor_json() == (0, {"ok": True, "findings": []})


def test_rename_avoids_a_name_already_taken(committed: tuple[StoreWithStaff, ...]) -> None:
    # given a hyphenated store schema whose repaired name is taken by another schema
    beta = committed[1].store
    rename_beta_schema_by_hand(beta)
    sql('CREATE SCHEMA "tenant_test_beta"')  # empty, and no store's: an orphan by its prefix
    status, document = doctor_json("--fix")
    assert status == 1
    assert codes(document) == [
        ("invalid_schema_name", beta.slug, HYPHENATED, True, True),
        ("orphan_schema", None, BETA, False, False),
    ]
    assert Store.objects.get(pk=beta.pk).schema_name == f"{BETA}_2"
    assert active_registers(f"{BETA}_2") == [MAIN_REGISTER_NAME]
    # put the run's schema back where the other tests expect it
    sql(f'DROP SCHEMA "{BETA}"')
    sql(f'ALTER SCHEMA "{BETA}_2" RENAME TO "{BETA}"')


def test_store_with_an_empty_schema_is_migrated_and_given_a_register(
    committed: tuple[StoreWithStaff, ...],
) -> None:
    # given a store whose schema was created without any table (the old system's failure)
    store = StoreFactory(schema_name="tenant_empty_shop")
    MembershipFactory(store=store, role=Membership.Role.OWNER)
    sql('CREATE SCHEMA "tenant_empty_shop"')
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [("schema_behind", store.slug, "tenant_empty_shop", True, False)]

    status, document = doctor_json("--fix")
    assert status == 0
    assert codes(document) == [
        ("no_register", store.slug, "tenant_empty_shop", True, True),
        ("schema_behind", store.slug, "tenant_empty_shop", True, True),
    ]
    assert schemas_behind(["tenant_empty_shop"]) == []
    assert active_registers("tenant_empty_shop") == [MAIN_REGISTER_NAME]


def test_fix_with_drop_orphans_drops_them(committed: tuple[StoreWithStaff, ...]) -> None:
    make_orphan()
    sql('CREATE SCHEMA "old_shop"')
    sql('CREATE TABLE "old_shop".django_migrations (id bigint)')
    sql('CREATE SCHEMA "kassa_spare_1"')
    sql('CREATE TABLE "kassa_spare_1".django_migrations (id bigint)')
    status, document = doctor_json("--fix", "--drop-orphans")
    assert status == 0
    assert document["ok"] is True
    assert codes(document) == [
        ("orphan_schema", None, "old_shop", True, True),
        ("orphan_schema", None, "tenant_ghost", True, True),
    ]
    assert not {"old_shop", "tenant_ghost"} & schema_names()
    assert {"kassa_spare_1", *STORE_SCHEMAS} <= schema_names()
    sql('DROP SCHEMA "kassa_spare_1" CASCADE')


def test_badly_named_store_without_schema_is_renamed_then_created(
    committed: tuple[StoreWithStaff, ...],
) -> None:
    store = StoreFactory(schema_name="tenant_new-shop")
    MembershipFactory(store=store, role=Membership.Role.OWNER)
    status, document = doctor_json()
    assert status == 1
    assert codes(document) == [("invalid_schema_name", store.slug, "tenant_new-shop", True, False)]

    status, document = doctor_json("--fix")
    assert status == 0
    assert codes(document) == [
        ("invalid_schema_name", store.slug, "tenant_new-shop", True, True),
        ("no_register", store.slug, "tenant_new_shop", True, True),
        ("schema_missing", store.slug, "tenant_new_shop", True, True),
    ]
    assert Store.objects.get(pk=store.pk).schema_name == "tenant_new_shop"
    assert schemas_behind(["tenant_new_shop"]) == []
    assert active_registers("tenant_new_shop") == [MAIN_REGISTER_NAME]


def test_a_failed_repair_is_reported_and_the_others_still_made(
    committed: tuple[StoreWithStaff, ...],
) -> None:
    # given alpha's migration history missing its first catalog migration, whose tables exist
    # (what copying migration history by hand leaves), and gamma without a register
    alpha, gamma = committed[0].store, committed[2]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM \"{ALPHA}\".django_migrations WHERE app = 'catalog' "
            "AND name = '0001_initial' RETURNING app, name, applied"
        )
        deleted = cursor.fetchall()
    with schema_context(GAMMA):
        Register.objects.filter(pk=gamma.register.pk).update(is_active=False)

    status, document = doctor_json("--fix")

    # then alpha's migration fails and is reported as such, and gamma's register is made
    assert status == 1
    assert codes(document) == [
        ("no_register", gamma.store.slug, GAMMA, True, True),
        ("schema_behind", alpha.slug, ALPHA, True, False),
    ]
    behind = next(f for f in document["findings"] if f["code"] == "schema_behind")
    assert "; repair failed: " in behind["message"]
    assert active_registers(GAMMA) == [MAIN_REGISTER_NAME]
    sql(
        f'INSERT INTO "{ALPHA}".django_migrations (app, name, applied) VALUES (%s, %s, %s)',
        deleted[0],
    )
