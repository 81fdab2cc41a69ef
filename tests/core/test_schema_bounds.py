"""Every bound the OpenAPI schema states is one the API enforces, quickly, with a field error.

The bounds are read from the schema itself (integers' minimum and maximum, strings' maxLength,
decimals' digits and places, enums, dates, lists' maxItems) for every request body and query
parameter; hypothesis draws values just past them and beyond, and each must be a 400 naming
the field, answered well under a second: never a 500, never seconds of CPU.
"""

import time
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from catalog.services import category_create, product_create, stock_adjust
from customers.services import customer_create
from jobs.models import Webhook
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open
from stores.models import Membership
from tests.conftest import StoreWithStaff, access_token

QUICK_SECONDS = 1.0
# Lists whose items are judged one by one: an item past a bound is rejected in the 200's
# results, the others applied (POST /api/sales/sync/).
JUDGED_PER_ITEM = {("/api/sales/sync/", "sales")}
DECIMAL_PATTERN_DIGITS = {  # the pattern drf-spectacular writes for digits and places
    r"^-?\d{0,10}(?:\.\d{0,4})?$": (10, 4),
    r"^-?\d{0,9}(?:\.\d{0,3})?$": (9, 3),
    r"^-?\d{0,3}(?:\.\d{0,2})?$": (3, 2),
}


@dataclass(frozen=True)
class Bound:
    """One stated bound: where it is (operation, a body's field or a query parameter) and how to
    break it."""

    method: str
    path: str
    field: str  # "lines.quantity": a field of the first item of a list
    location: str  # "body" or "query"
    schema: dict

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.location}:{self.field}"


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_bounded(schema: dict) -> bool:
    return bool(
        {"maximum", "minimum", "maxLength", "enum", "maxItems"} & set(schema)
        or schema.get("format") in {"decimal", "date"}
    )


def stated_bounds(document: dict) -> list[Bound]:
    components = document["components"]["schemas"]
    bounds = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bounds.extend(
                Bound(method, path, parameter["name"], "query", parameter["schema"])
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "query" and _is_bounded(parameter["schema"])
            )
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            body = _resolve(content["application/json"]["schema"], components)
            for name, field in body.get("properties", {}).items():
                field = _resolve(field, components)  # noqa: PLW2901
                if field.get("readOnly"):
                    continue
                if _is_bounded(field):
                    bounds.append(Bound(method, path, name, "body", field))
                item_schema = _resolve(field.get("items", {}), components)
                for inner, inner_field in item_schema.get("properties", {}).items():
                    inner_field = _resolve(inner_field, components)  # noqa: PLW2901
                    if _is_bounded(inner_field):
                        bounds.append(Bound(method, path, f"{name}.{inner}", "body", inner_field))
    return bounds


def past(schema: dict) -> st.SearchStrategy:
    """Values the schema's bound excludes."""
    options = []
    if "maximum" in schema:
        options.append(st.integers(schema["maximum"] + 1, schema["maximum"] * 10**6 + 10**30))
    if "minimum" in schema:
        options.append(st.integers(-(10**30), schema["minimum"] - 1))
    if "maxLength" in schema:
        size = schema["maxLength"] + 1
        options.append(st.text(alphabet="xЖ€", min_size=size, max_size=size + 40))
    if "enum" in schema:
        options.append(st.text(min_size=1, max_size=20).filter(lambda v: v not in schema["enum"]))
    if "maxItems" in schema:
        options.append(
            st.integers(schema["maxItems"] + 1, schema["maxItems"] + 30).map(lambda n: [{}] * n)
        )
    if schema.get("format") == "decimal":
        digits, places = DECIMAL_PATTERN_DIGITS.get(schema.get("pattern"), (10, 4))
        options.append(st.integers(10**digits, 10 ** (digits + 30)).map(str))
        options.append(st.integers(1, 10**6).map(lambda n: f"{n}." + "7" * (places + 1)))
        options.append(st.sampled_from(["-1e300000", "1e5", "NaN", "Infinity", "1,5"]))
    if schema.get("format") == "date":
        options.append(st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "2026-13"]))
    return st.one_of(options)


@pytest.fixture
def world(store_a: StoreWithStaff) -> StoreWithStaff:
    """Object 1 of every kind, so that `{id}` paths reach their validation."""
    with tenant_context(store_a.store):
        category = category_create(name="Drinks")
        product = product_create(
            name="Water", price=Decimal("1.50"), tax_rate=Decimal("7"), category=category
        )
        stock_adjust(product=product, delta=Decimal("100"), reason="restock", user=None)
        customer_create(name="Anna")
        shift_open(register_id=store_a.register.pk, opening_cash=Decimal("0"), user=store_a.owner)
        sale_checkout(
            user=store_a.owner,
            role="owner",
            register_id=store_a.register.pk,
            lines=[LineInput(product_id=product.pk, quantity=Decimal("1"))],
            payments=[PaymentInput(method="cash", amount=Decimal("2"))],
        )
        Webhook.objects.create(
            url="https://93.184.216.34/hook", events=["sale.completed"], secret="unused"
        )
    connection.set_schema_to_public()
    store_a.manager_membership = Membership.objects.get(user=store_a.manager).pk
    return store_a


@pytest.fixture
def bounds(served_schema: dict) -> list[Bound]:
    return stated_bounds(served_schema)


def test_the_schema_states_bounds_for_the_inputs_that_need_them(bounds: list[Bound]) -> None:
    stated = {str(bound) for bound in bounds}
    for expected in (
        "POST /api/sales/ body:register",
        "POST /api/sales/ body:lines",
        "POST /api/sales/ body:lines.quantity",
        "POST /api/sales/ body:lines.product",
        "POST /api/catalog/products/ body:price",
        "POST /api/catalog/products/ body:category",
        "GET /api/sales/ query:register",
        "GET /api/sales/ query:from",
    ):
        assert expected in stated


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_value_past_any_stated_bound_is_a_quick_400_naming_its_field(world, bounds, data):
    bound = data.draw(st.sampled_from(bounds), label="bound")
    value = data.draw(past(bound.schema), label="value")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token(world.owner)}",
        HTTP_X_TENANT_KEY=world.store.tenant_key,
    )
    # Store tables number from 1 in each test; memberships live in public and number on.
    object_id = world.manager_membership if bound.path.startswith("/api/staff/") else 1
    url = bound.path.replace("{id}", str(object_id)).replace("{refund_id}", "1")
    name, _, inner = bound.field.partition(".")
    started = time.perf_counter()
    if bound.location == "query":
        response = client.generic(
            bound.method.upper(), url, QUERY_STRING=urlencode({bound.field: value})
        )
    else:
        body = {name: [{inner: value}]} if inner else {name: value}
        if inner and (bound.path, name) in JUDGED_PER_ITEM:
            body["register"] = 1
        response = getattr(client, bound.method)(url, body, format="json")
    seconds = time.perf_counter() - started

    if inner and (bound.path, name) in JUDGED_PER_ITEM:
        assert seconds < QUICK_SECONDS, f"{bound}: {seconds:.2f} s"
        assert response.status_code == 200, f"{bound} = {value!r}: {response.status_code}"
        (result,) = response.json()["results"]
        assert result["status"] == "rejected", f"{bound} = {value!r}: {result}"
        assert inner in result["error"]["fields"], f"{bound} = {value!r}: {result}"
        return

    assert seconds < QUICK_SECONDS, f"{bound}: {seconds:.2f} s"
    assert response.status_code == 400, f"{bound} = {value!r}: {response.status_code}"
    errors = response.json()
    assert bound.field.split(".")[0] in errors, f"{bound} = {value!r}: {errors}"
