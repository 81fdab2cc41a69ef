"""Exports: a job writes the store's data as CSV or XLSX, its owner or manager downloads it, and
nothing of another store is ever in it or reachable through it."""

import csv
import io
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from catalog.services import category_create, product_create, stock_adjust
from jobs.files import job_files_purge
from jobs.models import Job
from sales.models import Sale
from stores.clock import local_today
from tests.sales.test_shifts import add_product, checkout, open_shift

EXPORTS = "/api/exports/"


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.JOB_FILES_ROOT = tmp_path / "job-files"
    return settings.JOB_FILES_ROOT


def export(client, django_capture_on_commit_callbacks, **body) -> dict:
    """Ask for an export; the job runs (eager Celery) as the request commits."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EXPORTS, body, format="json")
    assert response.status_code == 202, response.json()
    job = client.get(f"/api/jobs/{response.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    return job


def rows_of_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def catalog(store_a):
    with tenant_context(store_a.store):
        tea = category_create(name="Tea", parent=category_create(name="Drinks"))
        product_create(
            name='=HYPERLINK("http://evil")', sku="EVIL", price=Decimal("1.00"), category=tea
        )
        green = product_create(name="Green tea", sku="GT-1", price=Decimal("3.50"), category=tea)
        stock_adjust(product=green, delta=Decimal("12"), reason="restock", user=None)
    return store_a


def test_the_products_export_as_csv_with_category_paths_and_neutralised_formulas(
    catalog, client_for, django_capture_on_commit_callbacks
):
    client = client_for(catalog.manager, catalog.store)

    job = export(client, django_capture_on_commit_callbacks, kind="products", format="csv")
    download = client.get(f"/api/jobs/{job['id']}/download/")

    assert job["result"]["rows"] == 2
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"].startswith("attachment;")
    rows = rows_of_csv(download)
    assert rows[0][:5] == ["name", "sku", "barcode", "category", "price"]
    evil, green = rows[1], rows[2]
    assert evil[0] == '\'=HYPERLINK("http://evil")'
    assert (green[0], green[3], green[4], green[7]) == ("Green tea", "Drinks/Tea", "3.50", "12.000")


def test_sale_lines_export_as_xlsx_over_a_range_of_local_days(
    store_a, client_for, django_capture_on_commit_callbacks
):
    add_product(store_a, name="Tea", price="2.50", tax_rate="10", stock="100")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    for _ in range(3):
        checkout(client, [{"product": 1, "quantity": "2"}], [{"method": "card", "amount": "5.00"}])
    with tenant_context(store_a.store):
        Sale.objects.filter(pk=1).update(created_at=now() - timedelta(days=40))
    today = local_today(store_a.store)  # the store's day, not UTC's: they differ at night

    job = export(
        client,
        django_capture_on_commit_callbacks,
        kind="sale_lines",
        format="xlsx",
        **{"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()},
    )
    download = client.get(f"/api/jobs/{job['id']}/download/")

    assert download.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
    rows = list(book["sale_lines"].iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "sale", "sale_number")
    assert [row[2] for row in rows[1:]] == [2, 3]  # sale 1 is 40 days old
    assert {row[7] for row in rows[1:]} == {"2.000"}
    assert job["result"]["filename"].endswith(".xlsx")


@pytest.mark.parametrize("kind", ["customers", "sales", "stock_movements"])
def test_every_kind_exports(catalog, client_for, django_capture_on_commit_callbacks, kind):
    client = client_for(catalog.owner, catalog.store)

    job = export(client, django_capture_on_commit_callbacks, kind=kind, format="csv")

    assert rows_of_csv(client.get(f"/api/jobs/{job['id']}/download/"))[0][0] == "id"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "passwords", "format": "csv"},
        {"kind": "products", "format": "pdf"},
        {"kind": "sales", "from": "2026-02-01", "to": "2026-01-01"},
        {"kind": "sales", "from": "not a day"},
        {},
    ],
)
def test_a_bad_export_request_is_400_and_queues_nothing(store_a, client_for, body):
    response = client_for(store_a.owner, store_a.store).post(EXPORTS, body, format="json")

    assert response.status_code == 400
    with tenant_context(store_a.store):
        assert not Job.objects.exists()


def test_cashiers_may_not_export_or_download(
    catalog, client_for, django_capture_on_commit_callbacks
):
    job = export(
        client_for(catalog.owner, catalog.store),
        django_capture_on_commit_callbacks,
        kind="products",
        format="csv",
    )
    cashier = client_for(catalog.cashier, catalog.store)

    assert cashier.post(EXPORTS, {"kind": "products"}, format="json").status_code == 403
    assert cashier.get(f"/api/jobs/{job['id']}/download/").status_code == 403


def test_another_stores_user_never_gets_the_file(
    catalog, store_b, client_for, django_capture_on_commit_callbacks
):
    job = export(
        client_for(catalog.owner, catalog.store),
        django_capture_on_commit_callbacks,
        kind="products",
        format="csv",
    )

    with_a_key = client_for(store_b.owner, catalog.store).get(f"/api/jobs/{job['id']}/download/")
    with_own_key = client_for(store_b.owner, store_b.store).get(f"/api/jobs/{job['id']}/download/")

    assert with_a_key.status_code == 403
    assert with_own_key.status_code == 404  # B has no such job; A's file is never looked up


def test_a_job_without_a_file_or_past_its_keeping_is_404_and_a_running_one_409(
    catalog, client_for, settings, django_capture_on_commit_callbacks
):
    client = client_for(catalog.owner, catalog.store)
    job = export(client, django_capture_on_commit_callbacks, kind="products", format="csv")
    with tenant_context(catalog.store):
        running = Job.objects.create(kind="export.products", status=Job.Status.RUNNING)
        rebuild = Job.objects.create(kind="analytics.rebuild", status=Job.Status.SUCCEEDED)

    settings.JOB_FILES_KEEP_HOURS = 0
    expired = client.get(f"/api/jobs/{job['id']}/download/")

    assert expired.status_code == 404
    assert client.get(f"/api/jobs/{running.pk}/download/").status_code == 409
    assert client.get(f"/api/jobs/{running.pk}/download/").json()["code"] == "job_not_finished"
    assert client.get(f"/api/jobs/{rebuild.pk}/download/").status_code == 404
    assert client.get("/api/jobs/99999999999999999999/download/").status_code == 404


def test_files_past_their_keeping_are_purged_and_the_others_kept(
    catalog, client_for, settings, files, django_capture_on_commit_callbacks
):
    client = client_for(catalog.owner, catalog.store)
    old = export(client, django_capture_on_commit_callbacks, kind="products", format="csv")
    fresh = export(client, django_capture_on_commit_callbacks, kind="customers", format="csv")
    with tenant_context(catalog.store):
        Job.objects.filter(pk=old["id"]).update(finished_at=now() - timedelta(hours=25))
        folder = files / catalog.store.schema_name
        orphan, newborn = folder / "999.csv", folder / "1000.csv"
        orphan.write_text("an orphan")
        day_ago = (now() - timedelta(hours=25)).timestamp()
        os.utime(orphan, (day_ago, day_ago))
        # A job's file written before the job's transaction committed: no job to see yet.
        newborn.write_text("its job is being made")
        queued = Job.objects.create(kind="catalog.import")
        upload = folder / f"{queued.pk}.upload"
        upload.write_text("name,price")
        os.utime(upload, (day_ago, day_ago))

        removed = job_files_purge()

    assert removed == 2
    assert newborn.exists()
    assert upload.exists()
    assert client.get(f"/api/jobs/{old['id']}/download/").status_code == 404
    assert client.get(f"/api/jobs/{fresh['id']}/download/").status_code == 200
