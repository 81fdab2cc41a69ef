"""The catalog API over HTTP: categories, products, adjust-stock and the stock ledger."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from catalog.models import Category, Product, StockMovement
from catalog.serializers import ProductSerializer
from tests.catalog.factories import CategoryFactory, ProductFactory

CATEGORIES = "/api/catalog/categories/"
PRODUCTS = "/api/catalog/products/"
MOVEMENTS = "/api/catalog/stock-movements/"

PERMISSION_DENIED = {
    "detail": "Your role in this store does not allow this action.",
    "code": "permission_denied",
}
NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
CATEGORY_IN_USE = {
    "detail": "This category still has products or subcategories.",
    "code": "category_in_use",
}


class IsoDateTime:
    """Equal to an ISO 8601 date-time string with an offset, as the contract's times are."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        try:
            return datetime.fromisoformat(other).tzinfo is not None
        except ValueError:
            return False

    def __repr__(self) -> str:
        return "<ISO 8601 date-time with offset>"

    __hash__ = None  # a matcher, never a dict key


ISO_DATETIME = IsoDateTime()


def product_rows(staffed) -> list[dict]:
    with schema_context(staffed.store.schema_name):
        return list(Product.objects.order_by("id").values())


def movement_rows(staffed) -> list[dict]:
    with schema_context(staffed.store.schema_name):
        return list(StockMovement.objects.order_by("id").values())


def category_rows(staffed) -> list[dict]:
    with schema_context(staffed.store.schema_name):
        return list(Category.objects.order_by("id").values("id", "name", "parent_id"))


def make_products(staffed, *specs: dict) -> list[Product]:
    """Products in the store's schema; a spec's `stock` is given through stock_adjust."""
    with schema_context(staffed.store.schema_name):
        return [ProductFactory(**spec) for spec in specs]


def make_categories(staffed, *names_and_parents: tuple[str, int | None]) -> list[Category]:
    with schema_context(staffed.store.schema_name):
        made = []
        for name, parent_id in names_and_parents:
            made.append(CategoryFactory(name=name, parent_id=parent_id))
        return made


def adjust(client, product_id: int, delta: str, reason: str = "restock", note: str = ""):
    return client.post(
        f"{PRODUCTS}{product_id}/adjust-stock/", {"delta": delta, "reason": reason, "note": note}
    )


# --- Roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_write_the_catalog_and_adjust_stock(store_a, client_for, role):
    client = client_for(store_a.member(role), store_a.store)

    category = client.post(CATEGORIES, {"name": "Dairy", "parent": None})
    renamed = client.patch(f"{CATEGORIES}1/", {"name": "Milk products"})
    product = client.post(PRODUCTS, {"name": "Milk", "price": "1.20", "category": 1})
    changed = client.patch(f"{PRODUCTS}1/", {"price": "1.30"})
    adjusted = adjust(client, 1, "4")
    spare = client.post(CATEGORIES, {"name": "Spare"})
    deleted_category = client.delete(f"{CATEGORIES}2/")
    deleted_product = client.delete(f"{PRODUCTS}1/")

    assert category.status_code == 201
    assert renamed.status_code == 200
    assert product.status_code == 201
    assert changed.status_code == 200
    assert adjusted.status_code == 201
    assert adjusted.json()["created_by"] == store_a.member(role).pk
    assert spare.status_code == 201
    assert deleted_category.status_code == 204
    assert deleted_product.status_code == 200  # it has a movement: deactivated
    assert category_rows(store_a) == [{"id": 1, "name": "Milk products", "parent_id": None}]
    assert [(row["price"], row["stock"], row["is_active"]) for row in product_rows(store_a)] == [
        (Decimal("1.30"), Decimal("4.000"), False)
    ]


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_every_role_reads_the_catalog_and_the_ledger(store_a, client_for, role):
    make_categories(store_a, ("Dairy", None))
    make_products(store_a, {"name": "Milk", "category_id": 1, "stock": "3"})
    client = client_for(store_a.member(role), store_a.store)

    responses = [
        client.get(CATEGORIES),
        client.get(f"{CATEGORIES}1/"),
        client.get(PRODUCTS),
        client.get(f"{PRODUCTS}1/"),
        client.get(MOVEMENTS),
        client.get(f"{MOVEMENTS}1/"),
    ]

    assert [response.status_code for response in responses] == [200] * 6
    assert responses[0].json()["results"] == [{"id": 1, "name": "Dairy", "parent": None}]
    assert responses[3].json()["stock"] == "3.000"
    assert responses[5].json()["delta"] == "3.000"


def test_a_cashier_may_not_write_the_catalog_nor_adjust_stock(store_a, client_for):
    make_categories(store_a, ("Dairy", None))
    make_products(store_a, {"name": "Milk", "category_id": 1, "stock": "3"})
    categories_before = category_rows(store_a)
    products_before = product_rows(store_a)
    movements_before = movement_rows(store_a)
    client = client_for(store_a.cashier, store_a.store)

    responses = [
        client.post(CATEGORIES, {"name": "Bakery"}),
        client.patch(f"{CATEGORIES}1/", {"name": "Renamed"}),
        client.put(f"{CATEGORIES}1/", {"name": "Renamed", "parent": None}),
        client.delete(f"{CATEGORIES}1/"),
        client.post(PRODUCTS, {"name": "Bread", "price": "1.00"}),
        client.patch(f"{PRODUCTS}1/", {"price": "0.01"}),
        client.put(f"{PRODUCTS}1/", {"name": "Renamed", "price": "0.01"}),
        client.delete(f"{PRODUCTS}1/"),
        adjust(client, 1, "-3", reason="damage"),
    ]

    for response in responses:
        assert response.status_code == 403
        assert response.json() == PERMISSION_DENIED
    assert category_rows(store_a) == categories_before
    assert product_rows(store_a) == products_before
    assert movement_rows(store_a) == movements_before


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
@pytest.mark.parametrize(
    "call",
    [
        ("get", CATEGORIES, None),
        ("post", CATEGORIES, {"name": "Intruder"}),
        ("get", PRODUCTS, None),
        ("get", f"{PRODUCTS}1/", None),
        ("post", PRODUCTS, {"name": "Intruder", "price": "1.00"}),
        ("patch", f"{PRODUCTS}1/", {"price": "0.01"}),
        ("delete", f"{PRODUCTS}1/", None),
        ("post", f"{PRODUCTS}1/adjust-stock/", {"delta": "-1", "reason": "damage"}),
        ("get", MOVEMENTS, None),
    ],
)
def test_a_member_of_another_store_is_403_not_a_member(store_a, store_b, client_for, role, call):
    make_products(store_a, {"name": "Milk", "stock": "3"})
    products_before = product_rows(store_a)
    movements_before = movement_rows(store_a)
    client = client_for(store_b.member(role), store_a.store)

    method, path, body = call
    response = getattr(client, method)(path, body)

    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER
    assert category_rows(store_a) == []
    assert product_rows(store_a) == products_before
    assert movement_rows(store_a) == movements_before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", CATEGORIES, None),
        ("post", CATEGORIES, {"name": "Intruder"}),
        ("get", PRODUCTS, None),
        ("post", PRODUCTS, {"name": "Intruder", "price": "1.00"}),
        ("delete", f"{PRODUCTS}1/", None),
        ("post", f"{PRODUCTS}1/adjust-stock/", {"delta": "-1", "reason": "damage"}),
        ("get", MOVEMENTS, None),
    ],
)
def test_anonymous_callers_are_401(store_a, client_for, method, path, body):
    make_products(store_a, {"name": "Milk", "stock": "3"})
    products_before = product_rows(store_a)
    movements_before = movement_rows(store_a)

    response = getattr(client_for(None, store_a.store), method)(path, body)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert category_rows(store_a) == []
    assert product_rows(store_a) == products_before
    assert movement_rows(store_a) == movements_before


# --- Categories ------------------------------------------------------------------------------


def test_category_crud(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)

    created = client.post(CATEGORIES, {"name": "Dairy", "parent": None})
    top_without_parent_key = client.post(CATEGORIES, {"name": "Bakery"})
    child = client.post(CATEGORIES, {"name": "Milk", "parent": 1})
    read = client.get(f"{CATEGORIES}3/")
    renamed = client.patch(f"{CATEGORIES}3/", {"name": "Fresh milk"})
    moved = client.put(f"{CATEGORIES}3/", {"name": "Fresh milk", "parent": 2})
    listed = client.get(CATEGORIES)
    deleted = client.delete(f"{CATEGORIES}3/")
    gone = client.get(f"{CATEGORIES}3/")

    assert created.status_code == 201
    assert created.json() == {"id": 1, "name": "Dairy", "parent": None}
    assert top_without_parent_key.status_code == 201
    assert top_without_parent_key.json() == {"id": 2, "name": "Bakery", "parent": None}
    assert child.status_code == 201
    assert child.json() == {"id": 3, "name": "Milk", "parent": 1}
    assert read.json() == {"id": 3, "name": "Milk", "parent": 1}
    assert renamed.json() == {"id": 3, "name": "Fresh milk", "parent": 1}
    assert moved.json() == {"id": 3, "name": "Fresh milk", "parent": 2}
    assert listed.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {"id": 1, "name": "Dairy", "parent": None},
            {"id": 2, "name": "Bakery", "parent": None},
            {"id": 3, "name": "Fresh milk", "parent": 2},
        ],
    }
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert gone.json() == NOT_FOUND
    assert category_rows(store_a) == [
        {"id": 1, "name": "Dairy", "parent_id": None},
        {"id": 2, "name": "Bakery", "parent_id": None},
    ]


def test_the_category_tree_and_the_parent_filter(store_a, client_for):
    make_categories(
        store_a, ("Food", None), ("Dairy", 1), ("Milk", 2), ("Bakery", 1), ("Toys", None)
    )
    client = client_for(store_a.cashier, store_a.store)

    under_food = client.get(CATEGORIES, {"parent": 1}).json()["results"]
    under_dairy = client.get(CATEGORIES, {"parent": 2}).json()["results"]

    assert under_food == [
        {"id": 2, "name": "Dairy", "parent": 1},
        {"id": 4, "name": "Bakery", "parent": 1},
    ]
    assert under_dairy == [{"id": 3, "name": "Milk", "parent": 2}]


@pytest.mark.parametrize(
    ("category_id", "new_parent"),
    [
        (1, 1),  # itself
        (1, 2),  # its child
        (1, 3),  # its grandchild
        (2, 3),  # its child, one level down
        (2, 2),
    ],
)
def test_a_category_cannot_become_its_own_ancestor(store_a, client_for, category_id, new_parent):
    make_categories(store_a, ("Food", None), ("Dairy", 1), ("Milk", 2))
    before = category_rows(store_a)
    client = client_for(store_a.owner, store_a.store)

    patched = client.patch(f"{CATEGORIES}{category_id}/", {"parent": new_parent})
    put = client.put(f"{CATEGORIES}{category_id}/", {"name": "Renamed", "parent": new_parent})

    for response in (patched, put):
        assert response.status_code == 400
        assert response.json() == {"parent": ["A category cannot be placed under itself."]}
    assert category_rows(store_a) == before


def test_an_unknown_parent_is_400(store_a, client_for):
    make_categories(store_a, ("Food", None))
    client = client_for(store_a.owner, store_a.store)

    created = client.post(CATEGORIES, {"name": "Dairy", "parent": 99})
    patched = client.patch(f"{CATEGORIES}1/", {"parent": 99})

    for response in (created, patched):
        assert response.status_code == 400
        assert response.json() == {"parent": ['Invalid pk "99" - object does not exist.']}
    assert category_rows(store_a) == [{"id": 1, "name": "Food", "parent_id": None}]


@pytest.mark.parametrize("parent", [None, 1])
def test_a_duplicate_name_under_the_same_parent_is_400(store_a, client_for, parent):
    make_categories(store_a, ("Food", None), ("Dairy", 1), ("Dairy", None))
    before = category_rows(store_a)

    response = client_for(store_a.owner, store_a.store).post(
        CATEGORIES, {"name": "Dairy", "parent": parent}
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["The fields parent, name must make a unique set."]
    }
    assert category_rows(store_a) == before


def test_renaming_onto_a_sibling_name_is_400(store_a, client_for):
    make_categories(store_a, ("Food", None), ("Dairy", 1), ("Bakery", 1))
    before = category_rows(store_a)

    response = client_for(store_a.owner, store_a.store).patch(f"{CATEGORIES}3/", {"name": "Dairy"})

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["The fields parent, name must make a unique set."]
    }
    assert category_rows(store_a) == before


def test_the_same_name_under_different_parents_is_fine(store_a, client_for):
    make_categories(store_a, ("Food", None), ("Drinks", None))
    client = client_for(store_a.owner, store_a.store)

    under_food = client.post(CATEGORIES, {"name": "Organic", "parent": 1})
    under_drinks = client.post(CATEGORIES, {"name": "Organic", "parent": 2})
    at_top = client.post(CATEGORIES, {"name": "Organic", "parent": None})

    assert under_food.json() == {"id": 3, "name": "Organic", "parent": 1}
    assert under_drinks.json() == {"id": 4, "name": "Organic", "parent": 2}
    assert at_top.json() == {"id": 5, "name": "Organic", "parent": None}


def test_deleting_a_category_with_products_or_children_is_409(store_a, client_for):
    make_categories(store_a, ("Food", None), ("Dairy", 1), ("Bakery", None))
    make_products(store_a, {"name": "Bread", "category_id": 3})
    categories_before = category_rows(store_a)
    products_before = product_rows(store_a)
    client = client_for(store_a.owner, store_a.store)

    with_children = client.delete(f"{CATEGORIES}1/")
    with_products = client.delete(f"{CATEGORIES}3/")

    for response in (with_children, with_products):
        assert response.status_code == 409
        assert response.json() == CATEGORY_IN_USE
    assert category_rows(store_a) == categories_before
    assert product_rows(store_a) == products_before


# --- Products --------------------------------------------------------------------------------


def test_create_a_product_with_every_field(store_a, client_for):
    make_categories(store_a, ("Dairy", None))

    response = client_for(store_a.manager, store_a.store).post(
        PRODUCTS,
        {
            "name": "Молоко 3,2%",
            "sku": "MLK-32",
            "barcode": "4601234567890",
            "category": 1,
            "price": "89.90",
            "cost": "61.5",
            "tax_rate": "10",
            "is_active": True,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": 1,
        "name": "Молоко 3,2%",
        "sku": "MLK-32",
        "barcode": "4601234567890",
        "category": 1,
        "price": "89.90",
        "cost": "61.50",
        "tax_rate": "10.00",
        "stock": "0.000",
        "reorder_level": None,
        "is_active": True,
        "created_at": ISO_DATETIME,
        "updated_at": ISO_DATETIME,
    }
    (row,) = product_rows(store_a)
    assert {key: row[key] for key in ("name", "sku", "barcode", "category_id")} == {
        "name": "Молоко 3,2%",
        "sku": "MLK-32",
        "barcode": "4601234567890",
        "category_id": 1,
    }
    assert (row["price"], row["cost"], row["tax_rate"], row["stock"]) == (
        Decimal("89.90"),
        Decimal("61.50"),
        Decimal("10.00"),
        Decimal("0.000"),
    )
    assert movement_rows(store_a) == []


def test_a_product_needs_only_a_name_and_a_price(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).post(
        PRODUCTS, {"name": "Bread", "price": "2"}
    )

    assert response.status_code == 201
    assert response.json() == {
        "id": 1,
        "name": "Bread",
        "sku": None,
        "barcode": None,
        "category": None,
        "price": "2.00",
        "cost": "0.00",
        "tax_rate": "0.00",
        "stock": "0.000",
        "reorder_level": None,
        "is_active": True,
        "created_at": ISO_DATETIME,
        "updated_at": ISO_DATETIME,
    }


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_sku_or_barcode_is_stored_as_null_and_may_repeat(store_a, client_for, blank):
    client = client_for(store_a.owner, store_a.store)

    first = client.post(
        PRODUCTS, {"name": "Bread", "price": "2.00", "sku": blank, "barcode": blank}
    )
    second = client.post(PRODUCTS, {"name": "Buns", "price": "3.00", "sku": blank, "barcode": ""})

    assert (first.status_code, second.status_code) == (201, 201)
    assert [(row.json()["sku"], row.json()["barcode"]) for row in (first, second)] == [
        (None, None),
        (None, None),
    ]
    assert [(row["sku"], row["barcode"]) for row in product_rows(store_a)] == [
        (None, None),
        (None, None),
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"name": "Copy", "price": "1.00", "sku": "MLK-1"},
            {"sku": ["Product with this Sku already exists."]},
        ),
        (
            {"name": "Copy", "price": "1.00", "sku": "  MLK-1 "},
            {"sku": ["Product with this Sku already exists."]},
        ),
        (
            {"name": "Copy", "price": "1.00", "barcode": "4601234567890"},
            {"barcode": ["Product with this Barcode already exists."]},
        ),
    ],
)
def test_a_duplicate_sku_or_barcode_is_400(store_a, client_for, body, errors):
    make_products(store_a, {"name": "Milk", "sku": "MLK-1", "barcode": "4601234567890"})
    before = product_rows(store_a)

    response = client_for(store_a.owner, store_a.store).post(PRODUCTS, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert product_rows(store_a) == before


def test_changing_a_product_onto_another_products_sku_or_barcode_is_400(store_a, client_for):
    make_products(
        store_a,
        {"name": "Milk", "sku": "MLK-1", "barcode": "4601234567890"},
        {"name": "Kefir", "sku": "KEF-1", "barcode": "4601234567891"},
    )
    before = product_rows(store_a)
    client = client_for(store_a.owner, store_a.store)

    sku = client.patch(f"{PRODUCTS}2/", {"sku": "MLK-1"})
    barcode = client.patch(f"{PRODUCTS}2/", {"barcode": "4601234567890"})
    own_codes = client.patch(f"{PRODUCTS}1/", {"sku": "MLK-1", "barcode": "4601234567890"})

    assert sku.status_code == 400
    assert sku.json() == {"sku": ["Product with this Sku already exists."]}
    assert barcode.status_code == 400
    assert barcode.json() == {"barcode": ["Product with this Barcode already exists."]}
    assert own_codes.status_code == 200
    assert [(row["sku"], row["barcode"]) for row in product_rows(store_a)] == [
        (row["sku"], row["barcode"]) for row in before
    ]


def test_the_product_serializer_itself_refuses_a_duplicate_sku_or_barcode(store_a):
    """Uniqueness belongs to input validation: DRF's serializer, not only the model's clean()."""
    make_products(store_a, {"name": "Milk", "sku": "MLK-1", "barcode": "4601234567890"})

    with tenant_context(store_a.store):
        duplicate = ProductSerializer(
            data={"name": "Copy", "price": "1.00", "sku": "MLK-1", "barcode": "4601234567890"}
        )
        without_codes = ProductSerializer(data={"name": "Copy", "price": "1.00", "sku": None})
        is_duplicate_valid = duplicate.is_valid()
        is_without_codes_valid = without_codes.is_valid()

    assert is_duplicate_valid is False
    assert set(duplicate.errors) == {"sku", "barcode"}
    assert is_without_codes_valid is True


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"price": "-0.01"}, {"price": ["Ensure this value is greater than or equal to 0."]}),
        ({"price": "abc"}, {"price": ["A valid number is required."]}),
        ({"price": ""}, {"price": ["A valid number is required."]}),
        ({"price": None}, {"price": ["This field may not be null."]}),
        ({"price": "1.001"}, {"price": ["EUR amounts have at most 2 decimal places."]}),
        ({"cost": "-1"}, {"cost": ["Ensure this value is greater than or equal to 0."]}),
        ({"tax_rate": "-0.01"}, {"tax_rate": ["Ensure this value is greater than or equal to 0."]}),
        ({"tax_rate": "100.01"}, {"tax_rate": ["Ensure this value is less than or equal to 100."]}),
        ({"category": 99}, {"category": ['Invalid pk "99" - object does not exist.']}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
    ],
)
def test_bad_product_input_is_400_and_writes_nothing(store_a, client_for, change, errors):
    make_products(store_a, {"name": "Milk", "price": Decimal("1.20")})
    before = product_rows(store_a)
    client = client_for(store_a.owner, store_a.store)

    created = client.post(PRODUCTS, {"name": "Bread", "price": "2.00", **change})
    patched = client.patch(f"{PRODUCTS}1/", change)

    for response in (created, patched):
        assert response.status_code == 400
        assert response.json() == errors
    assert product_rows(store_a) == before


def test_a_product_without_name_or_price_is_400(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).post(PRODUCTS, {})

    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "price": ["This field is required."],
    }
    assert product_rows(store_a) == []


def test_a_tax_rate_of_exactly_0_or_100_is_fine(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)

    zero = client.post(PRODUCTS, {"name": "Bread", "price": "2.00", "tax_rate": "0"})
    hundred = client.post(PRODUCTS, {"name": "Tobacco", "price": "2.00", "tax_rate": "100"})

    assert (zero.json()["tax_rate"], hundred.json()["tax_rate"]) == ("0.00", "100.00")


def test_stock_in_a_product_body_is_ignored(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)

    created = client.post(PRODUCTS, {"name": "Bread", "price": "2.00", "stock": "100"})
    patched = client.patch(f"{PRODUCTS}1/", {"stock": "50", "name": "Rye bread"})
    replaced = client.put(f"{PRODUCTS}1/", {"name": "Rye bread", "price": "2.00", "stock": "7"})

    assert created.status_code == 201
    assert created.json()["stock"] == "0.000"
    assert (patched.status_code, patched.json()["stock"], patched.json()["name"]) == (
        200,
        "0.000",
        "Rye bread",
    )
    assert (replaced.status_code, replaced.json()["stock"]) == (200, "0.000")
    assert [row["stock"] for row in product_rows(store_a)] == [Decimal("0.000")]
    assert movement_rows(store_a) == []


def test_patch_changes_the_fields_and_updated_at(store_a, client_for):
    make_categories(store_a, ("Bakery", None))
    make_products(store_a, {"name": "Bread", "sku": "BRD-1", "stock": "4"})
    client = client_for(store_a.owner, store_a.store)
    before = client.get(f"{PRODUCTS}1/").json()

    response = client.patch(
        f"{PRODUCTS}1/",
        {"name": "Rye bread", "price": "12.50", "category": 1, "sku": "", "is_active": False},
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {
        **before,
        "name": "Rye bread",
        "price": "12.50",
        "category": 1,
        "sku": None,
        "is_active": False,
        "updated_at": ISO_DATETIME,
    }
    assert body["stock"] == "4.000"
    assert body["created_at"] == before["created_at"]
    assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(before["updated_at"])
    assert client.get(f"{PRODUCTS}1/").json() == body


def test_an_unknown_product_is_404(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)

    for response in (
        client.get(f"{PRODUCTS}1/"),
        client.patch(f"{PRODUCTS}1/", {"name": "Ghost"}),
        client.delete(f"{PRODUCTS}1/"),
        adjust(client, 1, "1"),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert product_rows(store_a) == []
    assert movement_rows(store_a) == []


# --- DELETE ----------------------------------------------------------------------------------


def test_deleting_a_product_never_moved_removes_it(store_a, client_for):
    make_products(store_a, {"name": "Bread"}, {"name": "Milk"})
    client = client_for(store_a.owner, store_a.store)

    response = client.delete(f"{PRODUCTS}1/")

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{PRODUCTS}1/").status_code == 404
    assert [row["name"] for row in product_rows(store_a)] == ["Milk"]


def test_deleting_a_product_with_a_movement_deactivates_it(store_a, client_for):
    make_products(store_a, {"name": "Bread", "stock": "3"})
    client = client_for(store_a.owner, store_a.store)
    before = client.get(f"{PRODUCTS}1/").json()
    movements_before = movement_rows(store_a)

    first = client.delete(f"{PRODUCTS}1/")
    again = client.delete(f"{PRODUCTS}1/")

    assert first.status_code == 200
    assert first.json() == {**before, "is_active": False, "updated_at": ISO_DATETIME}
    assert again.status_code == 200
    assert again.json()["is_active"] is False
    (row,) = product_rows(store_a)
    assert (row["name"], row["stock"], row["is_active"]) == ("Bread", Decimal("3.000"), False)
    assert movement_rows(store_a) == movements_before
    assert client.get(f"{PRODUCTS}1/").json()["is_active"] is False


# --- Filters, ordering, pagination -----------------------------------------------------------


@pytest.fixture
def shelf(store_a):
    """Five products, two categories, one product inactive."""
    make_categories(store_a, ("Dairy", None), ("Bakery", None))
    make_products(
        store_a,
        {"name": "Молоко 3,2%", "sku": "MLK-1", "barcode": "4601234567890", "category_id": 1},
        {"name": "Кефир", "sku": "KEF-1", "barcode": "4601234567891", "category_id": 1},
        {"name": "Rye Bread", "sku": "brd-1", "barcode": "4000000000011", "category_id": 2},
        {"name": "Milk chocolate", "sku": "CHOC-1", "barcode": None},
        {"name": "Old milk", "sku": None, "barcode": "2000000000017", "is_active": False},
    )
    return store_a


def listed_names(client, **params) -> list[str]:
    response = client.get(PRODUCTS, params)
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("молоко", ["Молоко 3,2%"]),
        ("МОЛОКО", ["Молоко 3,2%"]),
        ("Кеф", ["Кефир"]),
        ("milk", ["Milk chocolate", "Old milk"]),
        ("mlk", ["Молоко 3,2%"]),
        ("BRD", ["Rye Bread"]),
        ("46012345678", ["Молоко 3,2%", "Кефир"]),
        ("0017", ["Old milk"]),
        ("  kef-1  ", ["Кефир"]),
        ("", ["Молоко 3,2%", "Кефир", "Rye Bread", "Milk chocolate", "Old milk"]),
        ("nothing like it", []),
    ],
)
def test_search_matches_name_sku_and_barcode_in_any_case(shelf, client_for, search, names):
    client = client_for(shelf.cashier, shelf.store)

    assert listed_names(client, search=search) == names


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"barcode": "4601234567890"}, ["Молоко 3,2%"]),
        ({"barcode": "460123456789"}, []),
        ({"sku": "KEF-1"}, ["Кефир"]),
        ({"sku": "kef-1"}, []),
        ({"sku": "KEF"}, []),
        ({"category": 1}, ["Молоко 3,2%", "Кефир"]),
        ({"category": 2}, ["Rye Bread"]),
        ({"category": 99}, []),
        ({"is_active": "false"}, ["Old milk"]),
        ({"is_active": "true"}, ["Молоко 3,2%", "Кефир", "Rye Bread", "Milk chocolate"]),
        ({"category": 1, "search": "кефир"}, ["Кефир"]),
        ({"is_active": "true", "search": "milk"}, ["Milk chocolate"]),
    ],
)
def test_exact_filters(shelf, client_for, params, names):
    client = client_for(shelf.cashier, shelf.store)

    assert listed_names(client, **params) == names


@pytest.mark.parametrize(
    ("ordering", "names"),
    [
        ("name", ["Apples", "Bread", "Cheese", "Dates"]),
        ("-name", ["Dates", "Cheese", "Bread", "Apples"]),
        ("price", ["Cheese", "Apples", "Dates", "Bread"]),
        ("-price", ["Bread", "Dates", "Apples", "Cheese"]),
        ("stock", ["Dates", "Cheese", "Bread", "Apples"]),
        ("-stock", ["Apples", "Bread", "Cheese", "Dates"]),
    ],
)
def test_ordering(store_a, client_for, ordering, names):
    make_products(
        store_a,
        {"name": "Bread", "price": Decimal("9.00"), "stock": "2"},
        {"name": "Apples", "price": Decimal("3.00"), "stock": "7.5"},
        {"name": "Dates", "price": Decimal("5.00")},
        {"name": "Cheese", "price": Decimal("1.00"), "stock": "0.250"},
    )
    client = client_for(store_a.cashier, store_a.store)

    assert listed_names(client, ordering=ordering) == names


def test_pagination(store_a, client_for):
    make_products(store_a, *({"name": f"Product {n}"} for n in range(1, 8)))
    client = client_for(store_a.cashier, store_a.store)

    first = client.get(PRODUCTS, {"page_size": 3}).json()
    last = client.get(PRODUCTS, {"page_size": 3, "page": 3}).json()
    beyond = client.get(PRODUCTS, {"page_size": 3, "page": 4})

    assert {key: first[key] for key in ("count", "next", "previous")} == {
        "count": 7,
        "next": "http://testserver/api/catalog/products/?page=2&page_size=3",
        "previous": None,
    }
    assert [row["id"] for row in first["results"]] == [1, 2, 3]
    assert {key: last[key] for key in ("count", "next", "previous")} == {
        "count": 7,
        "next": None,
        "previous": "http://testserver/api/catalog/products/?page=2&page_size=3",
    }
    assert [row["id"] for row in last["results"]] == [7]
    assert beyond.status_code == 404
    assert beyond.json() == {"detail": "Invalid page.", "code": "not_found"}


def test_page_size_defaults_to_50_and_is_capped_at_200(store_a, client_for):
    with schema_context(store_a.store.schema_name):
        Product.objects.bulk_create(
            Product(name=f"Product {n:03d}", price=Decimal("1.00")) for n in range(205)
        )
    client = client_for(store_a.cashier, store_a.store)

    default = client.get(PRODUCTS).json()
    capped = client.get(PRODUCTS, {"page_size": 500}).json()
    exact = client.get(PRODUCTS, {"page_size": 200, "page": 2}).json()

    assert (default["count"], len(default["results"])) == (205, 50)
    assert (capped["count"], len(capped["results"])) == (205, 200)
    assert capped["next"] == "http://testserver/api/catalog/products/?page=2&page_size=500"
    assert [row["id"] for row in exact["results"]] == [201, 202, 203, 204, 205]


# --- Query counts ----------------------------------------------------------------------------


def count_queries(client, path: str, **params) -> tuple[int, int]:
    """(queries, rows) of one GET; the tenant key is already cached by an earlier request."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_the_product_list_makes_the_same_queries_whatever_the_page_size(store_a, client_for):
    # Observed: 7 statements for a 5-row page and 7 for a 50-row page (SET search_path, the
    # request's SAVEPOINT/RELEASE, user, membership, COUNT, page).
    make_categories(store_a, ("Dairy", None), ("Bakery", None))
    with schema_context(store_a.store.schema_name):
        Product.objects.bulk_create(
            Product(name=f"Product {n}", price=Decimal("1.00"), category_id=1 + n % 2)
            for n in range(60)
        )
    client = client_for(store_a.cashier, store_a.store)
    client.get(PRODUCTS)  # warms the tenant-key cache

    small = count_queries(client, PRODUCTS, page_size=5)
    large = count_queries(client, PRODUCTS, page_size=50)

    assert (small[1], large[1]) == (5, 50)
    assert small[0] == large[0]


def test_the_movement_list_makes_the_same_queries_whatever_the_page_size(store_a, client_for):
    # Observed: 7 statements for a 5-row page and 7 for a 50-row page (SET search_path, the
    # request's SAVEPOINT/RELEASE, user, membership, COUNT, page).
    client = client_for(store_a.manager, store_a.store)
    make_products(store_a, {"name": "Bread"}, {"name": "Milk"})
    for n in range(30):
        assert adjust(client, 1 + n % 2, "1", note=f"delivery {n}").status_code == 201
        assert adjust(client, 1 + n % 2, "-1", reason="damage").status_code == 201

    small = count_queries(client, MOVEMENTS, page_size=5)
    large = count_queries(client, MOVEMENTS, page_size=50)

    assert (small[1], large[1]) == (5, 50)
    assert small[0] == large[0]


def test_the_category_list_makes_the_same_queries_whatever_the_page_size(store_a, client_for):
    # Observed: 7 statements for a 5-row page and 7 for a 50-row page (SET search_path, the
    # request's SAVEPOINT/RELEASE, user, membership, COUNT, page).
    make_categories(store_a, ("Root", None))
    make_categories(store_a, *((f"Category {n}", 1 + n // 10) for n in range(59)))
    client = client_for(store_a.cashier, store_a.store)
    client.get(CATEGORIES)

    small = count_queries(client, CATEGORIES, page_size=5)
    large = count_queries(client, CATEGORIES, page_size=50)

    assert (small[1], large[1]) == (5, 50)
    assert small[0] == large[0]


# --- adjust-stock ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_adjust_stock_writes_a_movement_and_answers_the_new_stock(store_a, client_for, role):
    make_products(store_a, {"name": "Bread"})
    user = store_a.member(role)
    client = client_for(user, store_a.store)

    response = adjust(client, 1, "5", note="delivery")

    assert response.status_code == 201
    assert response.json() == {
        "id": 1,
        "product": 1,
        "delta": "5.000",
        "reason": "restock",
        "note": "delivery",
        "sale": None,
        "refund": None,
        "created_by": user.pk,
        "created_at": ISO_DATETIME,
        "stock": "5.000",
    }
    (row,) = movement_rows(store_a)
    assert {
        key: row[key] for key in ("product_id", "delta", "reason", "note", "created_by_id")
    } == {
        "product_id": 1,
        "delta": Decimal("5.000"),
        "reason": "restock",
        "note": "delivery",
        "created_by_id": user.pk,
    }
    assert client.get(f"{PRODUCTS}1/").json()["stock"] == "5.000"


def test_negative_and_fractional_adjustments(store_a, client_for):
    make_products(store_a, {"name": "Cheese by weight"})
    client = client_for(store_a.owner, store_a.store)

    steps = [
        adjust(client, 1, "5"),
        adjust(client, 1, "-2", reason="damage", note="dropped"),
        adjust(client, 1, "0.250", reason="count"),
        adjust(client, 1, "-0.125", reason="other"),
        client.post(f"{PRODUCTS}1/adjust-stock/", {"delta": 1, "reason": "restock"}),
    ]

    assert [step.status_code for step in steps] == [201] * 5
    assert [(step.json()["delta"], step.json()["stock"]) for step in steps] == [
        ("5.000", "5.000"),
        ("-2.000", "3.000"),
        ("0.250", "3.250"),
        ("-0.125", "3.125"),
        ("1.000", "4.125"),
    ]
    assert steps[1].json()["note"] == "dropped"
    assert steps[4].json()["note"] == ""
    assert [row["delta"] for row in movement_rows(store_a)] == [
        Decimal("5.000"),
        Decimal("-2.000"),
        Decimal("0.250"),
        Decimal("-0.125"),
        Decimal("1.000"),
    ]
    assert product_rows(store_a)[0]["stock"] == Decimal("4.125")


def test_adjusting_to_exactly_zero_is_fine(store_a, client_for):
    make_products(store_a, {"name": "Bread", "stock": "2"})

    response = adjust(client_for(store_a.owner, store_a.store), 1, "-2", reason="count")

    assert response.status_code == 201
    assert response.json()["stock"] == "0.000"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"delta": "0", "reason": "restock"}, {"delta": ["A stock change cannot be zero."]}),
        ({"delta": "-0.000", "reason": "count"}, {"delta": ["A stock change cannot be zero."]}),
        ({"delta": "abc", "reason": "restock"}, {"delta": ["A valid number is required."]}),
        ({"delta": "", "reason": "restock"}, {"delta": ["A valid number is required."]}),
        ({"delta": "NaN", "reason": "restock"}, {"delta": ["A valid number is required."]}),
        ({"delta": "Infinity", "reason": "restock"}, {"delta": ["A valid number is required."]}),
        (
            {"delta": "1e999", "reason": "restock"},
            {"delta": ["A valid number is required."]},  # exponents are never plain money
        ),
        (
            {"delta": "1.2345", "reason": "restock"},
            {"delta": ["Ensure that there are no more than 3 decimal places."]},
        ),
        (
            {"delta": "1000000000", "reason": "restock"},
            {"delta": ["Ensure that there are no more than 9 digits before the decimal point."]},
        ),
        ({"delta": None, "reason": "restock"}, {"delta": ["This field may not be null."]}),
        ({"reason": "restock"}, {"delta": ["This field is required."]}),
        ({"delta": "1", "reason": "sale"}, {"reason": ['"sale" is not a valid choice.']}),
        ({"delta": "1", "reason": "refund"}, {"reason": ['"refund" is not a valid choice.']}),
        ({"delta": "1", "reason": "theft"}, {"reason": ['"theft" is not a valid choice.']}),
        ({"delta": "1", "reason": "RESTOCK"}, {"reason": ['"RESTOCK" is not a valid choice.']}),
        ({"delta": "1"}, {"reason": ["This field is required."]}),
        (
            {"delta": "1", "reason": "restock", "note": "x" * 501},
            {"note": ["Ensure this field has no more than 500 characters."]},
        ),
    ],
)
def test_bad_adjustments_are_400_and_write_nothing(store_a, client_for, body, errors):
    make_products(store_a, {"name": "Bread", "stock": "3"})
    products_before = product_rows(store_a)
    movements_before = movement_rows(store_a)

    response = client_for(store_a.owner, store_a.store).post(f"{PRODUCTS}1/adjust-stock/", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert product_rows(store_a) == products_before
    assert movement_rows(store_a) == movements_before


def test_an_adjustment_below_zero_is_400_and_writes_nothing(store_a, client_for):
    make_products(store_a, {"name": "Bread", "stock": "2"})
    products_before = product_rows(store_a)
    movements_before = movement_rows(store_a)

    response = adjust(client_for(store_a.owner, store_a.store), 1, "-2.001", reason="damage")

    assert response.status_code == 400
    assert response.json() == {"delta": ["Stock would go below zero: 2.000 available."]}
    assert product_rows(store_a) == products_before
    assert movement_rows(store_a) == movements_before


def test_a_store_allowing_negative_stock_may_go_below_zero(store_a, client_for):
    make_products(store_a, {"name": "Bread", "stock": "2"})
    store_a.store.allow_negative_stock = True
    store_a.store.save()
    client = client_for(store_a.owner, store_a.store)

    response = adjust(client, 1, "-3", reason="count")

    assert response.status_code == 201
    assert (response.json()["delta"], response.json()["stock"]) == ("-3.000", "-1.000")
    assert product_rows(store_a)[0]["stock"] == Decimal("-1.000")
    assert sum(row["delta"] for row in movement_rows(store_a)) == Decimal("-1.000")


# --- Stock movements -------------------------------------------------------------------------


@pytest.fixture
def ledger(store_a, client_for):
    """Two products and four movements by owner and manager; answers the movements' bodies."""
    make_products(store_a, {"name": "Bread"}, {"name": "Milk"})
    owner = client_for(store_a.owner, store_a.store)
    manager = client_for(store_a.manager, store_a.store)
    bodies = [
        adjust(owner, 1, "10", note="delivery").json(),
        adjust(manager, 2, "4.500").json(),
        adjust(manager, 1, "-1", reason="damage", note="mouldy").json(),
        adjust(owner, 2, "-0.500", reason="count").json(),
    ]
    for body in bodies:
        del body["stock"]
    return bodies


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_the_ledger_lists_every_movement_newest_first(store_a, ledger, client_for, role):
    client = client_for(store_a.member(role), store_a.store)

    response = client.get(MOVEMENTS)

    assert response.status_code == 200
    assert response.json() == {
        "count": 4,
        "next": None,
        "previous": None,
        "results": list(reversed(ledger)),
    }
    assert ledger[2] == {
        "id": 3,
        "product": 1,
        "delta": "-1.000",
        "reason": "damage",
        "note": "mouldy",
        "sale": None,
        "refund": None,
        "created_by": store_a.manager.pk,
        "created_at": ISO_DATETIME,
    }
    assert client.get(f"{MOVEMENTS}3/").json() == ledger[2]


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({"product": 1}, [3, 1]),
        ({"product": 2}, [4, 2]),
        ({"product": 99}, []),
        ({"reason": "restock"}, [2, 1]),
        ({"reason": "damage"}, [3]),
        ({"reason": "sale"}, []),
        ({"product": 2, "reason": "count"}, [4]),
    ],
)
def test_the_ledger_filters(store_a, ledger, client_for, params, ids):
    response = client_for(store_a.cashier, store_a.store).get(MOVEMENTS, params)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == ids


def test_an_unknown_reason_filter_is_400(store_a, ledger, client_for):
    response = client_for(store_a.cashier, store_a.store).get(MOVEMENTS, {"reason": "theft"})

    assert response.status_code == 400
    assert response.json() == {
        "reason": ["Select a valid choice. theft is not one of the available choices."]
    }


def test_the_movements_sum_to_the_stock(store_a, ledger, client_for):
    client = client_for(store_a.cashier, store_a.store)

    for product in client.get(PRODUCTS).json()["results"]:
        deltas = [
            Decimal(row["delta"])
            for row in client.get(MOVEMENTS, {"product": product["id"]}).json()["results"]
        ]
        assert sum(deltas) == Decimal(product["stock"])
    assert [row["stock"] for row in client.get(PRODUCTS).json()["results"]] == ["9.000", "4.000"]


def test_the_ledger_cannot_be_written_over_http(store_a, ledger, client_for):
    client = client_for(store_a.owner, store_a.store)
    before = movement_rows(store_a)

    responses = [
        client.post(MOVEMENTS, {"product": 1, "delta": "100", "reason": "restock"}),
        client.patch(f"{MOVEMENTS}1/", {"delta": "100"}),
        client.delete(f"{MOVEMENTS}1/"),
    ]

    assert [response.status_code for response in responses] == [405, 405, 405]
    assert responses[0].json() == {
        "detail": 'Method "POST" not allowed.',
        "code": "method_not_allowed",
    }
    assert movement_rows(store_a) == before


# --- Isolation -------------------------------------------------------------------------------


def test_a_product_of_store_a_is_invisible_in_store_b(store_a, store_b, client_for):
    created = client_for(store_a.owner, store_a.store).post(
        PRODUCTS, {"name": "Only in A", "price": "1.00", "sku": "ONLY-A"}
    )
    b_owner = client_for(store_b.owner, store_b.store)

    listed = b_owner.get(PRODUCTS)
    by_id = b_owner.get(f"{PRODUCTS}1/")
    by_sku = b_owner.get(PRODUCTS, {"sku": "ONLY-A"})
    adjusted = adjust(b_owner, 1, "5")
    b_created = b_owner.post(PRODUCTS, {"name": "Only in B", "price": "2.00", "sku": "ONLY-A"})

    assert created.json()["id"] == 1
    assert listed.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert by_id.status_code == 404
    assert by_sku.json()["results"] == []
    assert adjusted.status_code == 404
    assert b_created.status_code == 201
    assert b_created.json()["id"] == 1  # every store numbers its products from 1
    assert [row["name"] for row in product_rows(store_a)] == ["Only in A"]
    assert [row["name"] for row in product_rows(store_b)] == ["Only in B"]
    assert movement_rows(store_a) == []
    assert movement_rows(store_b) == []
