"""Catalog imports: a CSV or XLSX file upserts products as a job, reports every row's error, and
writes all of it or (with errors, unless `partial`) nothing at all, only in its own store."""

import io
import os
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from openpyxl import Workbook

from analytics.imports import rows
from catalog.events import product_changed_data
from catalog.models import Category, PriceChange, Product, StockMovement
from catalog.services import category_create, product_create, stock_adjust
from core.models import Event
from jobs.models import Job
from tests.analytics.test_exports import export, rows_of_csv
from tests.conftest import STORE_SCHEMAS, make_store

IMPORTS = "/api/catalog/imports/"
pytestmark = pytest.mark.usefixtures("files")


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.JOB_FILES_ROOT = tmp_path / "job-files"
    return settings.JOB_FILES_ROOT


def post(client, callbacks, content: bytes, name: str = "catalog.csv", **params):
    """Send the file; the job runs (eager Celery) as the request commits; the job."""
    body = {"file": SimpleUploadedFile(name, content), **params}
    with callbacks(execute=True):
        response = client.post(IMPORTS, body, format="multipart")
    assert response.status_code == 202, response.json()
    return client.get(f"/api/jobs/{response.json()['job']['id']}/").json()


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def catalog_state(store) -> dict:
    """Everything an import may write, to compare before and after."""
    with tenant_context(store):
        return {
            "products": list(Product.objects.order_by("pk").values()),
            "categories": list(Category.objects.order_by("pk").values()),
            "movements": StockMovement.objects.count(),
            "prices": PriceChange.objects.count(),
            "events": Event.objects.count(),
        }


@pytest.fixture
def manager_client(store_a, client_for):
    return client_for(store_a.manager, store_a.store)


GOOD_CSV = (
    b"name,sku,barcode,category,price,cost,tax_rate,stock,reorder_level,is_active\n"
    b"Green tea,GT-1,4006381333931,Drinks/Tea,3.50,1.20,20,12,2,true\n"
    b"Black tea,BT-1,,Drinks/Tea,3.20,,20%,,,\n"
    b"Espresso beans,ESP,96385074,Drinks/Coffee,12.00,7.00,10,0,,false\n"
)


def test_a_csv_creates_products_categories_and_stock_counts_and_reports_them(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    job = post(manager_client, django_capture_on_commit_callbacks, GOOD_CSV)

    assert job["status"] == "succeeded", job
    result = job["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (3, 0, 0)
    assert result["errors"] == []
    assert (result["format"], result["encoding"], result["delimiter"]) == ("csv", "utf-8", ",")
    assert result["written"] is True
    with tenant_context(store_a.store):
        green = Product.objects.get(sku="GT-1")
        assert (green.price, green.cost, green.tax_rate, green.stock) == (
            Decimal("3.50"), Decimal("1.20"), Decimal("20"), Decimal("12"),
        )  # fmt: skip
        assert (green.category.name, green.category.parent.name) == ("Tea", "Drinks")
        assert green.reorder_level == Decimal(2)
        assert Product.objects.get(sku="BT-1").tax_rate == Decimal(20)
        assert Product.objects.get(sku="ESP").is_active is False
        assert Category.objects.count() == 3  # Drinks, Tea, Coffee: made once each
        (movement,) = StockMovement.objects.all()
        assert (movement.reason, movement.delta, movement.created_by_id) == (
            "count", Decimal(12), store_a.manager.pk,
        )  # fmt: skip
        assert PriceChange.objects.count() == 3
        changed = Event.objects.filter(type="product.changed").order_by("pk")
        assert [event.data for event in changed] == [
            product_changed_data(product, change="created")
            for product in Product.objects.order_by("pk")
        ]


def test_a_second_import_upserts_by_sku_then_barcode_and_changes_only_what_differs(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    post(manager_client, django_capture_on_commit_callbacks, GOOD_CSV)
    with tenant_context(store_a.store):
        espresso = Product.objects.get(sku="ESP")
        Product.objects.filter(pk=espresso.pk).update(sku=None)  # now known by barcode only
        events = Event.objects.count()
    changed = (
        b"name,sku,barcode,price,stock\n"
        b"Green tea,GT-1,,3.90,10\n"  # new price; stock counted down to 10
        b"Black tea,BT-1,,3.20,\n"  # as it is
        b"Espresso,,96385074,12.00,\n"  # matched by barcode: renamed
    )

    job = post(manager_client, django_capture_on_commit_callbacks, changed)

    result = job["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 2, 1)
    with tenant_context(store_a.store):
        green = Product.objects.get(sku="GT-1")
        assert (green.price, green.stock) == (Decimal("3.90"), Decimal(10))
        assert green.barcode == "4006381333931"  # an empty cell leaves the field as it is
        assert Product.objects.get(pk=espresso.pk).name == "Espresso"
        assert Product.objects.count() == 3
        count = StockMovement.objects.filter(reason="count").order_by("pk").last()
        assert count.delta == Decimal(-2)
        assert list(
            PriceChange.objects.filter(product=green).order_by("pk").values_list("price", flat=True)
        ) == [Decimal("3.50"), Decimal("3.90")]
        assert Event.objects.count() == events + 2


def test_the_catalog_round_trips_through_an_export_and_an_import_into_another_store(
    store_a, client_for, django_capture_on_commit_callbacks
):
    with tenant_context(store_a.store):
        tea = category_create(name="Tea", parent=category_create(name="Напитки"))
        product_create(name='=HYPERLINK("http://evil")', sku="EVIL", price=Decimal("1.00"))
        green = product_create(
            name="Зелёный чай «Весна»", sku="GT-1", barcode="4006381333931", category=tea,
            price=Decimal("3.50"), cost=Decimal("1.25"), tax_rate=Decimal("7.5"),
            reorder_level=Decimal("2.5"),
        )  # fmt: skip
        stock_adjust(product=green, delta=Decimal("12.250"), reason="restock", user=None)
        product_create(name="-20% bundle", price=Decimal("0"), is_active=False)
    other = make_store(STORE_SCHEMAS[1], name="Beta Shop")
    source = client_for(store_a.owner, store_a.store)
    target = client_for(other.owner, other.store)

    for kind in ("csv", "xlsx"):
        first = export(source, django_capture_on_commit_callbacks, kind="products", format=kind)
        exported = b"".join(source.get(f"/api/jobs/{first['id']}/download/").streaming_content)
        job = post(target, django_capture_on_commit_callbacks, exported, name=f"catalog.{kind}")
        assert job["status"] == "succeeded", job
        again = export(target, django_capture_on_commit_callbacks, kind="products", format=kind)
        if kind == "csv":
            assert job["result"]["created"] == 3
            assert rows_of_csv(target.get(f"/api/jobs/{again['id']}/download/")) == rows_of_csv(
                source.get(f"/api/jobs/{first['id']}/download/")
            )
        else:  # the same values in each cell (a workbook's bytes hold its time of writing)
            assert job["result"]["unchanged"] == 3
        second = post(target, django_capture_on_commit_callbacks, exported, name=f"catalog.{kind}")
        result = second["result"]
        assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 3)
    with tenant_context(other.store):
        assert Product.objects.get(sku="EVIL").name == '=HYPERLINK("http://evil")'
        assert Product.objects.get(name="-20% bundle").is_active is False
        assert Product.objects.get(sku="GT-1").category.parent.name == "Напитки"
        assert StockMovement.objects.get().delta == Decimal("12.250")


@pytest.mark.parametrize(
    "case",
    [
        ("utf-8-sig", ",", ["Grüner Tee", "Café crème"]),
        ("utf-8", "\t", ["緑茶", "Чай"]),
        ("cp1251", ";", ["Чай зелёный", "Кофе молотый", "Сахар-рафинад"]),
        ("cp1252", ";", ["Café crème brûlée", "Pâté de campagne", "Jalapeño piña"]),
    ],
)
def test_encodings_and_delimiters_are_found_and_reported(
    store_a, manager_client, django_capture_on_commit_callbacks, case
):
    encoding, delimiter, names = case
    lines = [delimiter.join(["Product name", "Retail price", "Qty"])]
    lines += [delimiter.join([name, "3,50" if delimiter == ";" else "3.50", "1"]) for name in names]
    content = ("\r\n".join(lines) + "\r\n").encode(encoding)

    job = post(manager_client, django_capture_on_commit_callbacks, content)

    assert job["status"] == "succeeded", job
    assert (job["result"]["encoding"], job["result"]["delimiter"]) == (encoding, delimiter)
    with tenant_context(store_a.store):
        assert sorted(Product.objects.values_list("name", flat=True)) == sorted(names)
        assert set(Product.objects.values_list("price", flat=True)) == {Decimal("3.50")}


def test_an_xlsx_with_synonyms_typed_cells_and_ignored_columns(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    content = xlsx([
        ["Item", "Selling price", "EAN", "In stock", "Active", "Supplier"],
        ["Rooibos", 4.2, 4006381333931, 7, True, "ACME"],
        ["Mate", 19.99, "036000291452", None, False, None],
        [None, None, None, None, None, None],  # spreadsheets end with empty rows
    ])  # fmt: skip

    job = post(manager_client, django_capture_on_commit_callbacks, content, name="c.xlsx")

    assert job["status"] == "succeeded", job
    assert job["result"]["format"] == "xlsx"
    assert job["result"]["ignored_columns"] == ["Supplier"]
    assert job["result"]["rows"] == 2
    with tenant_context(store_a.store):
        rooibos, mate = Product.objects.order_by("pk")
        assert (rooibos.price, rooibos.barcode, rooibos.stock) == (
            Decimal("4.20"), "4006381333931", Decimal(7),
        )  # fmt: skip
        assert (mate.price, mate.barcode, mate.is_active) == (
            Decimal("19.99"),
            "036000291452",
            False,
        )


BAD_FILES = [
    pytest.param(
        b"name,sku\nTea,T1\n", [{"row": 1, "field": "price"}], id="missing-required-column"
    ),
    pytest.param(
        b"name,sku,price\nTea,T1,1.00\nMore tea,T2,2.00\nTea again,T1,3.00\n",
        [{"row": 4, "field": "sku"}],
        id="duplicate-sku-in-the-file",
    ),
    pytest.param(
        b"name,barcode,price\nTea,4006381333932,1.00\n",
        [{"row": 2, "field": "barcode"}],
        id="bad-check-digit",
    ),
    pytest.param(
        b"name,barcode,price\nTea,12345,1.00\n", [{"row": 2, "field": "barcode"}], id="not-an-ean"
    ),
    pytest.param(b"name,price\nTea,1.005\n", [{"row": 2, "field": "price"}], id="too-many-places"),
    pytest.param(
        b'name,price\n"=HYPERLINK(""http://evil"",""x"")",1.00\n',
        [{"row": 2, "field": "name"}],
        id="formula",
    ),
    pytest.param(
        b"name,price,stock,tax_rate\n,abc,1.2345,101\n",
        [
            {"row": 2, "field": "name"},
            {"row": 2, "field": "price"},
            {"row": 2, "field": "stock"},
            {"row": 2, "field": "tax_rate"},
        ],
        id="every-cell-of-a-row",
    ),
    pytest.param(
        b"name,price,category\nTea,1.00,Drinks//Tea\n",
        [{"row": 2, "field": "category"}],
        id="empty-category-name",
    ),
    pytest.param(
        "name,price\nЧай,1.00\n".encode("utf-16-le"),
        [{"row": None, "field": None}],
        id="utf-16-without-a-mark",
    ),
    pytest.param(b"", [{"row": None, "field": None}], id="empty"),
    pytest.param(b"PK\x03\x04" + os.urandom(2000), [{"row": None, "field": None}], id="broken-zip"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_a_bad_file_reports_each_error_by_row_and_field_and_writes_nothing(
    store_a, manager_client, django_capture_on_commit_callbacks, content, expected
):
    before = catalog_state(store_a.store)
    body = {"file": SimpleUploadedFile("bad.csv", content)}
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(IMPORTS, body, format="multipart")
    if not content:  # an empty upload is refused by the request itself
        assert response.status_code == 400
        assert "file" in response.json()
        return
    job = manager_client.get(f"/api/jobs/{response.json()['job']['id']}/").json()

    assert job["status"] == "failed"
    assert "nothing was written" in job["error"]
    errors = job["result"]["errors"]
    assert [{"row": e["row"], "field": e["field"]} for e in errors] == expected
    assert all(error["message"] for error in errors)
    assert job["result"]["written"] is False
    assert catalog_state(store_a.store) == before


def test_garbage_is_refused_quickly_and_whole(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    garbage = os.urandom(10 * 1024 * 1024)

    job = post(manager_client, django_capture_on_commit_callbacks, garbage, name="garbage.csv")

    assert job["status"] == "failed"
    (error,) = job["result"]["errors"]
    assert error["row"] is None
    assert "neither CSV text nor an XLSX" in error["message"]
    assert catalog_state(store_a.store)["products"] == []


def test_a_row_matching_another_products_barcode_or_two_nameless_twins_is_an_error(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    with tenant_context(store_a.store):
        product_create(name="Tea", sku="T1", barcode="4006381333931", price=Decimal(1))
        product_create(name="Twin", price=Decimal(1))
        product_create(name="Twin", price=Decimal(2))
    content = (
        b"name,sku,barcode,price\n"
        b"Other tea,T2,4006381333931,1.00\n"  # a new sku with T1's barcode
        b"Twin,,,3.00\n"  # which of the two?
    )

    job = post(manager_client, django_capture_on_commit_callbacks, content)

    assert [(e["row"], e["field"]) for e in job["result"]["errors"]] == [
        (2, "barcode"),
        (3, "name"),
    ]


def test_partial_writes_the_good_rows_and_lists_the_others(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    content = b"name,sku,price\nTea,T1,1.00\nBad,T2,x\nCoffee,T3,2.00\n"

    job = post(manager_client, django_capture_on_commit_callbacks, content, partial="true")

    assert job["status"] == "succeeded"
    assert (job["result"]["created"], job["result"]["error_count"]) == (2, 1)
    assert job["result"]["errors"][0]["row"] == 3
    with tenant_context(store_a.store):
        assert sorted(Product.objects.values_list("sku", flat=True)) == ["T1", "T3"]


def test_a_value_repeated_down_the_file_keeps_its_verdict_on_every_row(
    store_a, manager_client, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(rows, "REMEMBERED", 2)  # forgotten and checked again along the way
    prices = ["1.00", "1.005", "2.00", "1.005", "3.00", "1.00", "1.005", "2.00", "x", "3.00"]
    content = "name,sku,price,tax_rate\n" + "".join(
        f"P{n},S{n},{price},{'20%' if n % 2 else '7'}\n" for n, price in enumerate(prices)
    )

    job = post(manager_client, django_capture_on_commit_callbacks, content.encode(), partial="true")

    result = job["result"]
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (3, "price"), (5, "price"), (8, "price"), (10, "price"),
    ]  # fmt: skip
    assert len({e["message"] for e in result["errors"][:3]}) == 1
    with tenant_context(store_a.store):
        written = dict(Product.objects.values_list("sku", "price"))
        assert written == {
            f"S{n}": Decimal(price) for n, price in enumerate(prices) if price in GOOD_PRICES
        }
        rates = set(Product.objects.values_list("sku", "tax_rate"))
        assert ("S0", Decimal(7)) in rates
        assert ("S2", Decimal(7)) in rates
        assert ("S9", Decimal(20)) in rates


GOOD_PRICES = ("1.00", "2.00", "3.00")


def test_a_dry_run_reports_what_the_import_would_do_and_writes_nothing(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    post(manager_client, django_capture_on_commit_callbacks, GOOD_CSV)
    before = catalog_state(store_a.store)
    content = GOOD_CSV + b"Mate,MT,,Drinks/Herbal,2.00,,,5,,\nBad,,,,-1,,,,,\n"
    content = content.replace(b"Green tea,GT-1", b"Green tea (loose),GT-1")

    dry = post(manager_client, django_capture_on_commit_callbacks, content, dry_run="true")

    assert dry["status"] == "succeeded"
    result = dry["result"]
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 2)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(6, "price")]
    assert (result["dry_run"], result["written"]) == (True, False)
    assert catalog_state(store_a.store) == before

    real = post(manager_client, django_capture_on_commit_callbacks, content, partial="true")
    for count in ("created", "updated", "unchanged", "errors"):
        assert real["result"][count] == result[count]


def test_places_follow_the_store_currency(db, client_for, django_capture_on_commit_callbacks):
    yen = make_store(STORE_SCHEMAS[0], name="東京ストア", currency="JPY", timezone="Asia/Tokyo")
    client = client_for(yen.owner, yen.store)

    job = post(client, django_capture_on_commit_callbacks, b"name,price\nTea,1055\nCake,350.5\n")

    assert [(e["row"], e["field"]) for e in job["result"]["errors"]] == [(3, "price")]
    assert "JPY" in job["result"]["errors"][0]["message"]


def test_negative_stock_is_refused_where_the_store_forbids_it(
    store_a, manager_client, django_capture_on_commit_callbacks
):
    job = post(manager_client, django_capture_on_commit_callbacks, b"name,price,stock\nTea,1,-3\n")

    assert [(e["row"], e["field"]) for e in job["result"]["errors"]] == [(2, "stock")]


def test_only_owners_and_managers_import_and_bad_requests_are_refused(
    store_a, client_for, settings, django_capture_on_commit_callbacks
):
    cashier = client_for(store_a.cashier, store_a.store)
    manager = client_for(store_a.manager, store_a.store)
    upload = {"file": SimpleUploadedFile("c.csv", GOOD_CSV)}

    assert cashier.post(IMPORTS, upload, format="multipart").status_code == 403
    missing = manager.post(IMPORTS, {}, format="multipart")
    assert missing.status_code == 400
    assert "file" in missing.json()
    as_json = manager.post(IMPORTS, {"file": "name,price"}, format="json")
    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    settings.IMPORT_MAX_BYTES = 100
    big = manager.post(
        IMPORTS, {"file": SimpleUploadedFile("c.csv", GOOD_CSV * 2)}, format="multipart"
    )
    assert (big.status_code, big.json()["code"]) == (413, "payload_too_large")
    with tenant_context(store_a.store):
        assert not Job.objects.exists()


def test_an_import_writes_only_its_own_store_and_its_job_is_not_anothers(
    store_a, store_b, client_for, django_capture_on_commit_callbacks
):
    with tenant_context(store_b.store):
        product_create(name="B's tea", sku="GT-1", price=Decimal("9.00"))
    client = client_for(store_a.manager, store_a.store)

    job = post(client, django_capture_on_commit_callbacks, GOOD_CSV)

    assert job["result"]["created"] == 3  # B's GT-1 is no product of A's
    with tenant_context(store_b.store):
        assert list(Product.objects.values_list("name", "price")) == [("B's tea", Decimal("9.00"))]
        assert not Job.objects.exists()
    b_client = client_for(store_b.owner, store_b.store)
    assert b_client.get(f"/api/jobs/{job['id']}/").status_code == 404
    a_with_b_key = client_for(store_b.owner, store_a.store)
    assert (
        a_with_b_key.post(IMPORTS, {"file": SimpleUploadedFile("c.csv", GOOD_CSV)}).status_code
        == 403
    )


def test_the_uploaded_file_is_removed_once_the_job_has_finished(
    store_a, manager_client, files, django_capture_on_commit_callbacks
):
    post(manager_client, django_capture_on_commit_callbacks, GOOD_CSV)

    assert list((files / store_a.store.schema_name).iterdir()) == []
