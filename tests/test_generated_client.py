"""A client nobody hand-wrote must work: one is generated from the OpenAPI schema with
openapi-python-client, and a whole POS day is driven through it.

The client talks to the real WSGI application over httpx (its WSGI transport): the requests go
through every middleware, view and serializer, and each one commits, as in production.
"""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from django.core.wsgi import get_wsgi_application

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
BASE_URL = "http://testserver"
PASSWORD = "a long and fresh passphrase"


@pytest.fixture
def kassa_client(tmp_path: Path, served_schema_text: str) -> Iterator[ModuleType]:
    """The client package generated from the schema the API serves, importable as kassa_client."""
    schema = tmp_path / "schema.json"
    schema.write_text(served_schema_text)
    config = tmp_path / "config.yml"
    config.write_text("post_hooks: []\npackage_name_override: kassa_client\n")
    generated = subprocess.run(  # noqa: S603 - the generator installed with the dev extra
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "kassa_client"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("kassa_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "kassa_client"]:
            del sys.modules[name]


@pytest.mark.usefixtures("committed_stores")
def test_a_full_pos_day_through_a_generated_client(kassa_client: ModuleType) -> None:
    def call(operation: str, **arguments: object) -> object:
        group, name = operation.split(".")
        return importlib.import_module(f"kassa_client.api.{group}.{name}").sync(**arguments)

    models = importlib.import_module("kassa_client.models")
    transport = httpx.WSGITransport(app=get_wsgi_application())

    def signed_in(token: str, tenant_key: str) -> object:
        return kassa_client.AuthenticatedClient(
            base_url=BASE_URL,
            token=token,
            headers={"X-Tenant-Key": tenant_key},
            httpx_args={"transport": transport},
            raise_on_unexpected_status=True,
        )

    anonymous = kassa_client.Client(
        base_url=BASE_URL, httpx_args={"transport": transport}, raise_on_unexpected_status=True
    )

    # the owner signs the shop up
    signup = call(
        "stores.stores_signup",
        client=anonymous,
        body=models.SignupRequest(
            store_name="Day Shop",
            currency="EUR",
            timezone="Europe/Berlin",
            prices_include_tax=True,
            owner=models.SignupOwnerRequest(
                email="owner@day.example", password=PASSWORD, full_name="Olga Owner"
            ),
        ),
    )
    assert isinstance(signup, models.SignupResponse), signup
    key = signup.store.tenant_key
    owner = signed_in(signup.tokens.access, key)

    # and invites a cashier, who accepts with a new account
    issued = call(
        "staff.staff_create",
        client=owner,
        body=models.InvitationCreateRequest(email="kim@day.example", role=models.RoleEnum.CASHIER),
    )
    assert issued.status == models.InvitationStatusEnum.PENDING
    joined = call(
        "invitations.invitations_accept",
        client=anonymous,
        body=models.InvitationAcceptRequest(
            token=issued.token, password=PASSWORD, full_name="Kim Cashier"
        ),
    )
    assert joined.role == models.RoleEnum.CASHIER
    cashier = signed_in(joined.tokens.access, key)

    # the catalog: a category, a product with a barcode, stock delivered
    drinks = call(
        "catalog.catalog_categories_create",
        client=owner,
        body=models.CategoryRequest(name="Drinks"),
    )
    cola = call(
        "catalog.catalog_products_create",
        client=owner,
        body=models.ProductRequest(
            name="Cola 330 ml",
            price="1.50",
            barcode="4006381333931",
            category=drinks.id,
            tax_rate="19.00",
        ),
    )
    delivered = call(
        "catalog.catalog_products_adjust_stock_create",
        client=owner,
        id=cola.id,
        body=models.StockAdjustmentRequest(delta="24", reason=models.ManualStockReasonEnum.RESTOCK),
    )
    assert delivered.stock == "24.000"

    # the cashier scans the barcode and opens the till
    scanned = call("catalog.catalog_products_list", client=cashier, barcode="4006381333931")
    assert [product.id for product in scanned.results] == [cola.id]
    shift = call(
        "sales.sales_shifts_create",
        client=cashier,
        body=models.ShiftOpenRequest(register=1, opening_cash="100.00"),
    )

    # a sale, sent twice with one key, as a till on flaky Wi-Fi does: made once
    sale_body = models.CheckoutRequest(
        register=1,
        lines=[models.CheckoutLineRequest(product=cola.id, quantity="3")],
        payments=[models.PaymentRequest(method=models.MethodEnum.CASH, amount="5.00")],
    )
    sold = call("sales.sales_create", client=cashier, body=sale_body, idempotency_key="day-1")
    again = call("sales.sales_create", client=cashier, body=sale_body, idempotency_key="day-1")
    assert (sold.id, sold.number, sold.total, sold.change_due) == (1, 1, "4.50", "0.50")
    assert again.id == sold.id
    assert call("sales.sales_list", client=owner).count == 1

    # the owner refunds one can, back to stock
    refund = call(
        "sales.sales_refund_create",
        client=owner,
        id=sold.id,
        body=models.RefundInputRequest(
            lines=[models.RefundLineInputRequest(line=sold.lines[0].id, quantity="1")],
            method=models.MethodEnum.CASH,
            restock=True,
        ),
    )
    assert refund.total == "1.50"
    assert call("catalog.catalog_products_retrieve", client=owner, id=cola.id).stock == "22.000"

    # the Z report: 100.00 + 4.50 − 1.50
    closed = call(
        "sales.sales_shifts_close_create",
        client=cashier,
        id=shift.id,
        body=models.ShiftCloseRequest(counted_cash="103.00"),
    )
    assert (closed.expected_cash, closed.difference, closed.sales_count) == ("103.00", "0.00", 1)

    # and the day's summary, rebuilt by a job
    queued = call("analytics.analytics_regenerate", client=owner, body=models.RegenerateRequest())
    job = call("jobs.jobs_retrieve", client=owner, id=queued.job.id)
    assert job.status == models.JobStatusEnum.SUCCEEDED
    summary = call("analytics.analytics_summary", client=owner)
    assert (summary.sales_count, summary.revenue, summary.refunds, summary.net_revenue) == (
        1,
        "4.50",
        "1.50",
        "3.00",
    )
    assert summary.top_products[0].name == "Cola 330 ml"
