"""The isolation matrix: every store-scoped operation of the URL conf, against every outsider."""

# The matrix is read from the URL conf, so a new store-scoped endpoint joins it by itself. When
# this module was written it held 47 operations (25 URL patterns); the module makes 489 calls.

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django_tenants.utils import tenant_context
from rest_framework.permissions import SAFE_METHODS
from rest_framework.test import APIClient

from catalog.services import category_create, product_create, stock_adjust
from customers.services import customer_create
from jobs.models import Webhook, WebhookDelivery
from jobs.services import job_create
from jobs.webhooks.secrets import secret_encrypt, secret_new
from jobs.webhooks.services import deliveries_fan_out
from sales.models import Refund
from sales.services import (
    LineInput,
    PaymentInput,
    RefundLineInput,
    register_create,
    sale_checkout,
    sale_refund,
    shift_open,
)
from stores.models import Membership, Store, User
from stores.permissions import StoreRolePermission
from stores.services import invitation_create
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, access_token, make_store, tenant_tables
from tests.factories import MembershipFactory, UserFactory

Role = Membership.Role
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Every value B holds that an outsider could recognise carries one of these (compared lowercased):
# names, notes, SKUs, e-mails, the store's name and slug ("b-secret") and its key ("b_secret").
B_MARKERS = ("b-secret", "b_secret")
STORE_HEADERS = ("X-Tenant-Key", "X-Store-Slug", "X-Store-Name")

# --- The matrix, from the URL conf ----------------------------------------------------------

_NAMED_GROUP = re.compile(
    r"\(\?P<(?P<regex>\w+)>(?:[^()]|\([^()]*\))*\)"  # a router's (?P<pk>[^/.]+)
    r"|<(?:\w+:)?(?P<route>\w+)>"  # a path()'s <int:pk>
)


@dataclass(frozen=True)
class Operation:
    """One HTTP method on one store-scoped URL pattern."""

    method: str
    route: str  # "/api/catalog/products/{pk}/"
    view_class: type
    action: str | None
    permission: type[StoreRolePermission]
    callback: Callable[..., HttpResponse]

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.route)

    @property
    def is_write(self) -> bool:
        return self.method not in SAFE_METHODS

    @property
    def cashier_may(self) -> bool:
        roles = self.permission.write_roles if self.is_write else self.permission.read_roles
        return Role.CASHIER in roles

    def url(self, **values: object) -> str:
        return self.route.format(**values)


def _route(pattern: str) -> str:
    """A URL template: `api/catalog/^products/(?P<pk>[^/.]+)/$` → `/api/catalog/products/{pk}/`."""
    with_names = _NAMED_GROUP.sub(lambda match: f"{{{match['regex'] or match['route']}}}", pattern)
    return "/" + with_names.replace("^", "").replace("$", "")


def _url_patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _url_patterns(entry, pattern)
        else:
            yield pattern, entry


def _role_permission(callback: Callable[..., HttpResponse], view_class: type) -> type:
    # An @action's own permission_classes reach the view through the router's initkwargs.
    initkwargs = getattr(callback, "initkwargs", {})
    classes = initkwargs.get("permission_classes", view_class.permission_classes)
    role_classes = [
        permission
        for permission in classes
        if isinstance(permission, type) and issubclass(permission, StoreRolePermission)
    ]
    assert len(role_classes) == 1, f"{view_class.__name__}: one StoreRolePermission, not {classes}"
    return role_classes[0]


@cache
def store_scoped_operations() -> tuple[Operation, ...]:
    operations = []
    for pattern, entry in _url_patterns(get_resolver()):
        callback = entry.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not getattr(view_class, "is_store_scoped", False):
            continue
        actions = getattr(callback, "actions", None)
        if actions:  # a viewset: the router mapped methods to actions
            # DRF adds HEAD (a GET without a body) to this mapping on a view's first request.
            methods = {
                method.upper(): action for method, action in actions.items() if method != "head"
            }
        else:
            methods = {
                method.upper(): None for method in HTTP_METHODS if hasattr(view_class, method)
            }
        permission = _role_permission(callback, view_class)
        operations.extend(
            Operation(
                method=method,
                route=_route(pattern),
                view_class=view_class,
                action=action,
                permission=permission,
                callback=callback,
            )
            for method, action in methods.items()
        )
    return tuple(operations)


# What the contract (API.md) lists; the matrix must hold at least this, and holds whatever else
# the URL conf adds.
CONTRACT_OPERATIONS = {
    "GET /api/store/",
    "PATCH /api/store/",
    "GET /api/staff/",
    "POST /api/staff/",
    "GET /api/staff/{pk}/",
    "PATCH /api/staff/{pk}/",
    "DELETE /api/staff/{pk}/",
    *(
        f"{method} /api/{resource}/{{pk}}/"
        for resource in ("catalog/categories", "catalog/products", "customers", "sales/registers")
        for method in ("GET", "PUT", "PATCH", "DELETE")
    ),
    *(
        f"{method} /api/{resource}/"
        for resource in ("catalog/categories", "catalog/products", "customers", "sales/registers")
        for method in ("GET", "POST")
    ),
    "POST /api/catalog/products/{pk}/adjust-stock/",
    "GET /api/catalog/stock-movements/",
    "GET /api/catalog/stock-movements/{pk}/",
    "GET /api/customers/{pk}/sales/",
    "GET /api/sales/shifts/",
    "POST /api/sales/shifts/",
    "GET /api/sales/shifts/{pk}/",
    "POST /api/sales/shifts/{pk}/close/",
    "GET /api/sales/",
    "POST /api/sales/",
    "GET /api/sales/{pk}/",
    "POST /api/sales/{pk}/refund/",
    "GET /api/analytics/summary/",
    "POST /api/analytics/regenerate/",
    "GET /api/jobs/",
    "GET /api/jobs/{pk}/",
}

# Valid bodies (for store B's objects) wherever the operation takes one, so that a refusal is the
# authorization's and not the validation's. An operation missing here is sent `{}`.
BODIES: dict[str, Callable[[SimpleNamespace], dict[str, Any]]] = {
    "PATCH /api/store/": lambda refs: {
        "name": "Intruder Store",
        "timezone": "Europe/Berlin",
        "prices_include_tax": False,
    },
    "POST /api/staff/": lambda refs: {"email": "intruder@example.com", "role": "owner"},
    "PATCH /api/staff/{pk}/": lambda refs: {"role": "manager"},
    "POST /api/catalog/categories/": lambda refs: {"name": "Intruder", "parent": refs.category},
    "PUT /api/catalog/categories/{pk}/": lambda refs: {"name": "Intruder", "parent": None},
    "PATCH /api/catalog/categories/{pk}/": lambda refs: {"name": "Intruder"},
    "POST /api/catalog/products/": lambda refs: {
        "name": "Intruder",
        "sku": "INTRUDER-1",
        "category": refs.category,
        "price": "1.00",
        "cost": "0.50",
        "tax_rate": "20.00",
    },
    "PUT /api/catalog/products/{pk}/": lambda refs: {
        "name": "Intruder",
        "sku": "INTRUDER-2",
        "category": refs.category,
        "price": "1.00",
        "cost": "0.50",
        "tax_rate": "20.00",
    },
    "PATCH /api/catalog/products/{pk}/": lambda refs: {"price": "0.01"},
    "POST /api/catalog/products/{pk}/adjust-stock/": lambda refs: {
        "delta": "-1",
        "reason": "damage",
        "note": "intruder",
    },
    "POST /api/customers/": lambda refs: {"name": "Intruder", "email": "intruder@example.com"},
    "PUT /api/customers/{pk}/": lambda refs: {"name": "Intruder", "email": "intruder@example.com"},
    "PATCH /api/customers/{pk}/": lambda refs: {"name": "Intruder"},
    "POST /api/sales/registers/": lambda refs: {"name": "Intruder till"},
    "PUT /api/sales/registers/{pk}/": lambda refs: {"name": "Intruder till", "is_active": False},
    "PATCH /api/sales/registers/{pk}/": lambda refs: {"is_active": False},
    "POST /api/sales/shifts/": lambda refs: {
        "register": refs.register_without_shift,
        "opening_cash": "10.00",
    },
    "POST /api/sales/shifts/{pk}/close/": lambda refs: {"counted_cash": "0.00"},
    "POST /api/sales/": lambda refs: {
        "register": refs.register_with_shift,
        "customer": refs.customer,
        "lines": [{"product": refs.product, "quantity": "1"}],
        "payments": [{"method": "cash", "amount": "50.00"}],
        "note": "intruder",
    },
    "POST /api/sales/{pk}/refund/": lambda refs: {
        "lines": [{"line": refs.sale_line, "quantity": "1"}],
        "method": "card",
        "restock": True,
        "reason": "intruder",
    },
    "POST /api/analytics/regenerate/": lambda refs: {"from": "2024-01-01", "to": "2024-01-31"},
    # A public address, so production settings take it (no request is made in the matrix).
    "POST /api/webhooks/": lambda refs: {
        "url": "https://93.184.216.34/intruder",
        "events": ["sale.completed"],
    },
    "PUT /api/webhooks/{pk}/": lambda refs: {
        "url": "https://93.184.216.34/intruder",
        "events": ["sale.completed"],
        "is_active": False,
    },
    "PATCH /api/webhooks/{pk}/": lambda refs: {"is_active": False},
}
# Creations whose body names B's objects by id (all of them ids that A lacks): sent with A's key,
# they must be refused as unknown ids, not link anything in A to B.
BODIES_NAMING_B_IDS = {
    "POST /api/catalog/categories/",
    "POST /api/catalog/products/",
    "POST /api/sales/shifts/",
    "POST /api/sales/",
}


def test_the_matrix_covers_every_store_scoped_endpoint():
    operations = store_scoped_operations()
    names = [str(operation) for operation in operations]

    assert len(operations) > 30
    assert len(set(names)) == len(names)
    assert set(names) >= CONTRACT_OPERATIONS
    assert set(BODIES) <= set(names)
    assert set(BODIES) >= BODIES_NAMING_B_IDS
    for operation in operations:
        # The concrete URL leads back to the pattern it was made from.
        url = operation.url(**dict.fromkeys(operation.parameters, 1))
        assert resolve(url).func is operation.callback, operation
        assert not re.search(r"[()\[\]\\*+?]", operation.route), operation
    # What the contract's role table forbids cashiers, read from the views' permissions.
    forbidden = {str(operation) for operation in operations if not operation.cashier_may}
    assert forbidden >= {
        "PATCH /api/store/",
        "GET /api/staff/",
        "POST /api/sales/registers/",
        "DELETE /api/catalog/products/{pk}/",
        "POST /api/sales/{pk}/refund/",
        "GET /api/analytics/summary/",
        "GET /api/jobs/",
    }
    assert not forbidden & {
        "GET /api/catalog/products/",
        "POST /api/sales/",
        "POST /api/customers/",
    }


# --- Two stores, B with more of everything ----------------------------------------------------


def _fill(staffed: StoreWithStaff, *, label: str, more: int) -> SimpleNamespace:
    """Two of everything (`more` extra where ids matter), each named with `label`."""
    owner = staffed.owner
    with tenant_context(staffed.store):
        categories = [category_create(name=f"{label} category {n}") for n in range(1, 3 + more)]
        products = []
        for n in range(1, 3 + more):
            product = product_create(
                name=f"{label} product {n}",
                sku=f"{label}-SKU-{n}",
                category=categories[n % len(categories)],
                price=Decimal("10.00"),
                cost=Decimal("6.00"),
                tax_rate=Decimal("20.00"),
            )
            stock_adjust(product=product, delta=Decimal("100"), reason="restock", user=owner)
            products.append(product)
        customers = [
            customer_create(
                name=f"{label} customer {n}",
                email=f"{label.lower()}-customer-{n}@example.com",
                phone=f"+49300000{n}",
                note=f"{label} note",
            )
            for n in range(1, 3 + more)
        ]
        registers = [
            staffed.register,
            *(register_create(name=f"{label} till {n}") for n in range(2, 3 + 2 * more)),
        ]
        # A: a shift on register 1. B: shifts on 1 and 3; register 4 stays free for a new one.
        with_shift = [registers[0], *registers[2 : 2 + more]]
        for register in with_shift:
            shift_open(register_id=register.pk, opening_cash=Decimal("100.00"), user=owner)
        sales = [
            sale_checkout(
                user=owner,
                role=Role.OWNER,
                register_id=with_shift[n % len(with_shift)].pk,
                customer_id=customers[n % len(customers)].pk,
                lines=[LineInput(product_id=products[n % len(products)].pk, quantity=Decimal(2))],
                payments=[PaymentInput(method="cash", amount=Decimal("50.00"))],
                note=f"{label} sale {n}",
            )
            for n in range(2 + more)
        ]
        for sale in sales[-(1 + more) :]:  # the last: B refunded a sale A lacks
            sale_refund(
                sale=sale,
                user=owner,
                lines=[RefundLineInput(line_id=sale.lines.all()[0].pk, quantity=Decimal(1))],
                method="cash",
                restock=True,
                reason=f"{label} refund",
            )
        for n in range(1, 2 + more):
            job_create(kind=f"{label}.export", params={"note": f"{label} {n}"}, requested_by=owner)
        # Subscriptions, with deliveries of the sales above (made as the workers make them).
        for n in range(1, 2 + more):
            Webhook.objects.create(
                url=f"https://93.184.216.34/{label.lower()}-hook-{n}",
                events=["sale.completed", "sale.refunded"],
                secret=secret_encrypt(secret_new()),
            )
        deliveries_fan_out()
    for n in range(1, 2 + more):
        invitation_create(
            store=staffed.store,
            email=f"{label.lower()}-invitee-{n}@example.com",
            role=Role.CASHIER,
            invited_by=owner,
        )
    with tenant_context(staffed.store):
        return SimpleNamespace(
            category=categories[-1].pk,
            product=products[-1].pk,
            customer=customers[-1].pk,
            register_with_shift=with_shift[-1].pk,
            register_without_shift=registers[-1].pk,
            sale_line=sales[-1].lines.all()[0].pk,
        )


def _former_owner_of(store: Store, *, name: str) -> tuple[User, str]:
    """A user who was an owner of `store`, and an access token issued to them back then."""
    user = UserFactory(full_name=f"B-secret {name}", email=f"b-secret-{name}@example.com")
    MembershipFactory(user=user, store=store, role=Role.OWNER)
    return user, access_token(user)


@dataclass
class World:
    a: StoreWithStaff
    b: StoreWithStaff
    refs: SimpleNamespace  # B's objects that A lacks, for bodies
    removed_token: str  # of a former owner of B whose membership was deleted
    demoted_token: str  # of an owner of B demoted to cashier after the token was issued


@pytest.fixture
def world(store_a: StoreWithStaff) -> World:
    b = make_store(
        STORE_SCHEMAS[1],
        name="B-secret Shop",
        slug="b-secret-shop",
        tenant_key="b_secret_shop_0badc0de",
    )
    for role in Role.values:
        User.objects.filter(pk=b.member(role).pk).update(full_name=f"B-secret {role}")
    _fill(store_a, label="A", more=0)
    refs = _fill(b, label="B-secret", more=1)

    removed, removed_token = _former_owner_of(b.store, name="removed")
    Membership.objects.filter(user=removed, store=b.store).delete()
    demoted, demoted_token = _former_owner_of(b.store, name="demoted")
    Membership.objects.filter(user=demoted, store=b.store).update(role=Role.CASHIER)
    return World(
        a=store_a, b=b, refs=refs, removed_token=removed_token, demoted_token=demoted_token
    )


def _path_ids(operation: Operation, staffed: StoreWithStaff) -> set[int]:
    """The ids the operation's view can look up in this store (its own queryset, in its store)."""
    view = operation.view_class()
    view.action = operation.action
    view.args, view.kwargs, view.format_kwarg = (), {}, None
    view.request = SimpleNamespace(
        store=staffed.store, user=staffed.owner, method=operation.method, query_params={}
    )
    with tenant_context(staffed.store):
        queryset = view.get_queryset().prefetch_related(None)
        return set(queryset.values_list("pk", flat=True))


# Ids in a path beside the view's own object: one of B's, belonging to that object (B's sale,
# B's webhook).
NESTED_IDS: dict[str, Callable[[int], int]] = {
    "refund_id": lambda sale: (
        Refund.objects.filter(sale_id=sale).values_list("pk", flat=True).first()
    ),
    "delivery_id": lambda webhook: (
        WebhookDelivery.objects.filter(webhook_id=webhook).values_list("pk", flat=True).first()
    ),
}


def _b_only_url(operation: Operation, world: World) -> str:
    """The operation's URL for an object of B whose id A does not have."""
    if not operation.parameters:
        return operation.url()
    lookup = getattr(operation.view_class, "lookup_url_kwarg", None) or getattr(
        operation.view_class, "lookup_field", "pk"
    )
    others = [name for name in operation.parameters if name != lookup]
    assert operation.parameters[0] == lookup, f"{operation}: teach the matrix this parameter"
    assert set(others) <= set(NESTED_IDS), f"{operation}: teach the matrix this parameter"
    only_in_b = _path_ids(operation, world.b) - _path_ids(operation, world.a)
    assert only_in_b, f"{operation}: store B needs an object whose id A lacks"
    with tenant_context(world.b.store):
        for pk in sorted(only_in_b, reverse=True):
            nested = {name: NESTED_IDS[name](pk) for name in others}
            if None not in nested.values():
                return operation.url(**{lookup: pk, **nested})
    raise AssertionError(f"{operation}: store B needs an object whose id A lacks, with {others}")


# --- Watching store B ---------------------------------------------------------------------------


def _b_state(world: World) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the rows of each of B's tables, and of B's rows in public."""
    schema = world.b.store.schema_name
    row_hash = "count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
    selects = [
        (f'SELECT %s, {row_hash} FROM "{schema}"."{table}" AS t', [table])
        for table in tenant_tables(schema)
    ]
    selects += [
        (
            f"SELECT %s, {row_hash} FROM public.{Store._meta.db_table} AS t WHERE t.id = %s",
            ["public store", world.b.store.pk],
        ),
        (
            f"SELECT %s, {row_hash} FROM public.{Membership._meta.db_table} AS t "
            "WHERE t.store_id = %s",
            ["public memberships", world.b.store.pk],
        ),
        (f"SELECT %s, {row_hash} FROM public.{User._meta.db_table} AS t", ["public users"]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(sql for sql, _ in selects),
            [parameter for _, parameters in selects for parameter in parameters],
        )
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


class Matrix:
    """Sends the calls and records every way an answer or B's data fails the expectation."""

    def __init__(self, world: World):
        self.world = world
        self.b_before = _b_state(world)
        self.failures: list[str] = []
        self.calls = 0

    def send(
        self,
        client: APIClient,
        operation: Operation,
        url: str,
        *,
        status: int,
        code: str | None = None,
        is_member: bool = False,
    ) -> HttpResponse:
        body = BODIES.get(str(operation), lambda refs: {})(self.world.refs)
        response = getattr(client, operation.method.lower())(url, body, format="json")
        self.calls += 1
        text = response.content.decode()
        problems = []
        if response.status_code != status:
            problems.append(f"status {response.status_code}, expected {status}")
        if code is not None:
            is_json = response.get("Content-Type", "").startswith("application/json")
            received = response.json().get("code") if is_json else None
            if received != code:
                problems.append(f"code {received!r}, expected {code!r}")
        problems += [f"body holds {marker!r}" for marker in B_MARKERS if marker in text.lower()]
        if not is_member:
            problems += [f"header {header}" for header in STORE_HEADERS if header in response]
        if operation.is_write:
            changed = sorted(
                table
                for table, state in _b_state(self.world).items()
                if self.b_before.get(table) != state
            )
            if changed:
                problems.append(f"wrote in B: {', '.join(changed)}")
        if problems:
            self.failures.append(f"{operation.method} {url}: {'; '.join(problems)}: {text[:300]}")
        return response

    def assert_clean(self) -> None:
        assert self.failures == []
        assert _b_state(self.world) == self.b_before


def _client(token: str | None, tenant_key: str | None) -> APIClient:
    client = APIClient()
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if tenant_key is not None:
        headers["HTTP_X_TENANT_KEY"] = tenant_key
    client.credentials(**headers)
    return client


# --- The callers ----------------------------------------------------------------------------


def test_b_s_owner_reaches_every_operation_so_the_refusals_below_mean_something(world):
    """The control: the same URLs and bodies, sent by B's owner, are found and accepted (each
    call is rolled back, so every call sees the same B)."""
    matrix = Matrix(world)
    client = _client(access_token(world.b.owner), world.b.store.tenant_key)
    marked = 0
    for operation in store_scoped_operations():
        url = _b_only_url(operation, world)
        body = BODIES.get(str(operation), lambda refs: {})(world.refs)
        with transaction.atomic():
            response = getattr(client, operation.method.lower())(url, body, format="json")
            matrix.calls += 1
            transaction.set_rollback(True)
        refused = {401, 403, 404, 405} | ({400} if body or not operation.is_write else set())
        if response.status_code in refused or response.status_code >= 500:
            matrix.failures.append(f"{operation} {url}: {response.status_code} {response.content}")
        marked += any(marker in response.content.decode().lower() for marker in B_MARKERS)

    assert marked > 10  # the markers are there to be found
    matrix.assert_clean()


def test_a_member_of_a_with_b_s_key_is_403_not_a_member_everywhere(world):
    matrix = Matrix(world)
    client = _client(access_token(world.a.owner), world.b.store.tenant_key)
    for operation in store_scoped_operations():
        matrix.send(
            client, operation, _b_only_url(operation, world), status=403, code="not_a_member"
        )

    matrix.assert_clean()


def test_an_id_that_exists_only_in_b_is_404_with_a_s_key(world):
    matrix = Matrix(world)
    client = _client(access_token(world.a.owner), world.a.store.tenant_key)
    operations = store_scoped_operations()
    for operation in operations:
        if operation.parameters:
            matrix.send(
                client,
                operation,
                _b_only_url(operation, world),
                status=404,
                code="not_found",
                is_member=True,
            )
    # A's own lists and reports show nothing of B.
    for operation in operations:
        if not operation.parameters and operation.method == "GET":
            matrix.send(client, operation, operation.url(), status=200, is_member=True)
    # Last, since a wrongly accepted creation in A would take an id that is B's only.
    for operation in operations:
        if str(operation) in BODIES_NAMING_B_IDS:
            matrix.send(client, operation, operation.url(), status=400, is_member=True)

    matrix.assert_clean()


def test_a_removed_member_is_403_not_a_member_with_a_token_from_before(world):
    matrix = Matrix(world)
    client = _client(world.removed_token, world.b.store.tenant_key)
    for operation in store_scoped_operations():
        matrix.send(
            client, operation, _b_only_url(operation, world), status=403, code="not_a_member"
        )

    matrix.assert_clean()


def test_an_anonymous_caller_with_b_s_key_is_401_everywhere(world):
    matrix = Matrix(world)
    client = _client(None, world.b.store.tenant_key)
    for operation in store_scoped_operations():
        matrix.send(
            client, operation, _b_only_url(operation, world), status=401, code="not_authenticated"
        )

    matrix.assert_clean()


def test_a_demoted_member_is_403_where_cashiers_may_not_go_with_a_token_from_before(world):
    matrix = Matrix(world)
    client = _client(world.demoted_token, world.b.store.tenant_key)
    forbidden = [operation for operation in store_scoped_operations() if not operation.cashier_may]
    for operation in forbidden:
        matrix.send(
            client,
            operation,
            _b_only_url(operation, world),
            status=403,
            code="permission_denied",
            is_member=True,  # still a member: the store's headers are theirs to see
        )

    assert len(forbidden) >= 20
    matrix.assert_clean()


@pytest.mark.parametrize(
    ("tenant_key", "status", "code"),
    [
        (None, 400, "tenant_required"),
        ("", 400, "tenant_required"),
        ("not a key!", 404, "tenant_not_found"),
        ("B_SECRET_SHOP_0BADC0DE", 404, "tenant_not_found"),
        ("no_such_store_00000000", 404, "tenant_not_found"),
    ],
)
def test_no_key_or_a_bad_key_is_refused_before_any_store(world, tenant_key, status, code):
    matrix = Matrix(world)
    client = _client(access_token(world.b.owner), tenant_key)
    for operation in store_scoped_operations():
        matrix.send(client, operation, _b_only_url(operation, world), status=status, code=code)

    matrix.assert_clean()
