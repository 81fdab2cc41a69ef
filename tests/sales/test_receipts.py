"""Receipts: text for 58 and 80 mm thermal printers (golden files, display width), HTML, PDF,
refund receipts, and receipts by email."""

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core import mail
from django_tenants.utils import schema_context
from pypdf import PdfReader
from wcwidth import width

from sales.models import Refund, Sale
from stores.models import Store, User
from tests.sales.test_shifts import add_product, checkout, open_shift

GOLDEN = Path(__file__).parent / "golden"
# KASSA_UPDATE_GOLDEN=1 writes the files anew (then read the diff before committing it).
UPDATE = os.environ.get("KASSA_UPDATE_GOLDEN") == "1"
MILK = "Молоко ультрапастеризованное 3,2 % «Домик в деревне» 1 л"
MATCHA = "抹茶ラテ(大)季節限定の特別なブレンド"
SOLD_AT = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
REFUNDED_AT = datetime(2026, 3, 15, 17, 5, 0, tzinfo=UTC)


def receipt_url(sale: int = 1, **query: object) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/sales/{sale}/receipt/" + (f"?{params}" if params else "")


def dress_store(staffed, **fields: object) -> None:
    Store.objects.filter(pk=staffed.store.pk).update(**fields)
    staffed.store.refresh_from_db()


@pytest.fixture
def moscow_sale(store_a, client_for):
    """A sale in a Moscow shop: a long Cyrillic name, a CJK one, a discount, two tax rates,
    cash and card with change, an offline number, and a refund of one line."""
    dress_store(
        store_a,
        currency="RUB",
        timezone="Europe/Moscow",
        locale="ru",
        receipt_header="ул. Тверская, 1\nМосква",
        receipt_footer="Спасибо за покупку!",
        tax_id="ИНН 7707083893",
    )
    User.objects.filter(pk=store_a.cashier.pk).update(full_name="Анна Петрова")
    User.objects.filter(pk=store_a.manager.pk).update(full_name="Илья Смирнов")
    add_product(store_a, name=MILK, price="89.90", tax_rate="10.00", stock="50")
    add_product(store_a, name=MATCHA, price="420.00", tax_rate="20.00", stock="50")
    add_product(store_a, name="Tea", price="1250.50", tax_rate="20.00", stock="50")
    cashier = client_for(store_a.cashier, store_a.store)
    open_shift(cashier)
    sale = checkout(
        cashier,
        [
            {"product": 1, "quantity": "2"},
            {"product": 2, "quantity": "1"},
            {"product": 3, "quantity": "0.250"},
        ],
        [{"method": "card", "amount": "500.00"}, {"method": "cash", "amount": "1000.00"}],
    )
    assert sale.status_code == 201, sale.json()
    manager = client_for(store_a.manager, store_a.store)
    refund = manager.post(
        "/api/sales/1/refund/",
        {"lines": [{"line": 1, "quantity": "1"}], "method": "cash", "restock": True},
    )
    assert refund.status_code == 201, refund.json()
    with schema_context(store_a.store.schema_name):
        Sale.objects.filter(pk=1).update(created_at=SOLD_AT, offline_number="T2-0042")
        Refund.objects.filter(pk=1).update(created_at=REFUNDED_AT)
    return store_a


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_the_text_receipt_matches_its_golden_file_and_fits_the_paper(
    moscow_sale, client_for, columns
):
    client = client_for(moscow_sale.cashier, moscow_sale.store)

    response = client.get(receipt_url(format="text", width=columns))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text == golden(f"sale_{columns}.txt", text)
    lines = text.splitlines()
    # Display cells, not code points: a CJK line has fewer characters than columns.
    assert all(width(line) <= columns for line in lines), [
        line for line in lines if width(line) > columns
    ]
    cjk = [line for line in lines if any("\u3040" <= char <= "\u9fff" for char in line)]
    assert cjk
    assert all(len(line) < columns for line in cjk)
    # Amounts end on the last column.
    assert any(line.endswith("₽") and width(line) == columns for line in lines)
    # The sale's facts, written the Russian way, in Moscow time.
    assert "No. 1" in text
    assert "T2-0042" in text
    assert "14.03.2026, 12:26:53" in text  # 09:26:53 UTC
    assert "ИНН 7707083893" in text
    assert "Спасибо за покупку!" in text


def test_the_receipt_shows_every_figure_of_the_sale(moscow_sale, client_for):
    client = client_for(moscow_sale.owner, moscow_sale.store)
    sale = client.get("/api/sales/1/").json()

    text = client.get(receipt_url(width=48)).content.decode()

    # 2 × 89.90 + 420.00 + 0.25 × 1250.50 = 179.80 + 420.00 + 312.63 (312.625 rounded half-up)
    assert sale["total"] == "912.43"
    assert "912,43\xa0₽" in text
    assert "2 × 89,90\xa0₽" in text
    assert "0,25 × 1\xa0250,50\xa0₽" in text
    assert "Tax 10% incl." in text
    assert "Tax 20% incl." in text
    assert f"{sale['change_due'].replace('.', ',')}\xa0₽" in text  # 587.57
    assert "Refunded" in text
    assert "-89,90\xa0₽" in text


@pytest.mark.parametrize(
    "case",
    [
        ("KWD", "en", "1.255", "2.510", "KWD\xa02.510"),  # three places
        ("JPY", "ja", "1250", "2500", "￥2,500"),  # none
        ("EUR", "de", "1.25", "2.50", "2,50\xa0€"),
    ],
)
def test_amounts_have_the_places_of_the_currency_and_the_form_of_the_locale(
    store_a, client_for, case
):
    currency, locale, price, paid, written = case
    dress_store(store_a, currency=currency, locale=locale)
    add_product(store_a, name="Dates", price=price, tax_rate="0", stock="10")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client, opening_cash="10")
    sale = checkout(client, [{"product": 1, "quantity": "2"}], [{"method": "card", "amount": paid}])
    assert sale.status_code == 201, sale.json()

    text = client.get(receipt_url()).content.decode()

    (total,) = (line for line in text.splitlines() if line.startswith("TOTAL"))
    assert total.endswith(f" {written}")
    assert f"Card{' ' * 20}" in text
    assert "Tax" not in text  # none at 0 %


def test_the_html_receipt_escapes_what_people_typed(store_a, client_for):
    dress_store(store_a, receipt_footer='<img src=x onerror="alert(1)">')
    add_product(store_a, name="<script>alert(1)</script>", price="3.00", tax_rate="19", stock="5")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    checkout(client, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "5.00"}])

    response = client.get(receipt_url(format="html"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "€3.00" in html


def test_control_characters_in_names_never_reach_the_printer(store_a, client_for):
    # ESC @ (initialise), ESC d n (feed), GS V (cut), a bidi override: all kept off the paper.
    add_product(
        store_a, name="Tea\x1b@\x1bd\x05\x1dV \u202eevil", price="2.00", tax_rate="0", stock="5"
    )
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    checkout(client, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "2.00"}])

    text = client.get(receipt_url()).content.decode()

    assert not any(ord(char) < 32 and char != "\n" for char in text)
    assert "\u202e" not in text
    assert "Tea @ d V evil" in text


@pytest.mark.parametrize(("columns", "millimetres"), [(32, 58), (42, 80), (48, 80)])
def test_the_pdf_receipt_opens_and_holds_the_total(moscow_sale, client_for, columns, millimetres):
    client = client_for(moscow_sale.cashier, moscow_sale.store)

    response = client.get(receipt_url(format="pdf", width=columns))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="sale-1.pdf"'
    pdf = PdfReader(io.BytesIO(response.content))
    assert len(pdf.pages) == 1
    page = pdf.pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == millimetres
    text = page.extract_text()
    assert "912,43" in text
    assert "Молоко" in text
    assert "抹茶" in text  # drawn with the fallback font


def test_a_refund_has_its_own_receipt(moscow_sale, client_for):
    client = client_for(moscow_sale.manager, moscow_sale.store)

    response = client.get("/api/sales/1/refunds/1/receipt/?width=42")

    assert response.status_code == 200
    text = response.content.decode()
    assert "Refund" in text
    assert "No. 1" in text
    assert "Of sale" in text
    assert "REFUNDED" in text
    assert "-89,90\xa0₽" in text
    assert "Илья Смирнов" in text
    assert "Goods returned to stock" in text
    assert "15.03.2026, 20:05:00" in text
    pdf = client.get("/api/sales/1/refunds/1/receipt/?format=pdf")
    assert "89,90" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_a_refund_of_another_sale_or_no_refund_is_404(moscow_sale, client_for):
    client = client_for(moscow_sale.owner, moscow_sale.store)

    assert client.get("/api/sales/1/refunds/2/receipt/").status_code == 404
    assert client.get("/api/sales/2/refunds/1/receipt/").status_code == 404
    assert client.get("/api/sales/2/receipt/").status_code == 404
    huge = client.get("/api/sales/1/refunds/999999999999999999/receipt/")
    assert huge.status_code == 404
    assert huge.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "query", [{"width": 40}, {"width": "wide"}, {"format": "docx"}, {"format": "json"}]
)
def test_an_unknown_format_or_width_is_400_json(moscow_sale, client_for, query):
    client = client_for(moscow_sale.owner, moscow_sale.store)

    response = client.get(receipt_url(**query))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == set(query)  # the parameter, and what is wrong with it


def test_a_receipt_is_emailed_with_text_html_and_pdf(moscow_sale, client_for):
    client = client_for(moscow_sale.cashier, moscow_sale.store)

    response = client.post("/api/sales/1/receipt/email/", {"email": "guest@example.com"})

    assert response.status_code == 202, response.json()
    assert response.json() == {"sale": 1, "refund": None, "email": "guest@example.com"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["guest@example.com"]
    assert message.subject == "Sale 1 · Магазин Альфа"
    assert "912,43\xa0₽" in message.body
    ((html, html_type),) = message.alternatives
    assert html_type == "text/html"
    assert "912,43" in html
    ((name, content, content_type),) = message.attachments
    assert (name, content_type) == ("sale-1.pdf", "application/pdf")
    assert "912,43" in PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_a_refund_receipt_is_emailed_and_a_stranger_refund_is_404(moscow_sale, client_for):
    client = client_for(moscow_sale.owner, moscow_sale.store)

    sent = client.post("/api/sales/1/receipt/email/", {"email": "a@example.com", "refund": 1})
    unknown = client.post("/api/sales/1/receipt/email/", {"email": "a@example.com", "refund": 7})
    bad = client.post("/api/sales/1/receipt/email/", {"email": "not an address"})

    assert sent.status_code == 202
    assert mail.outbox[0].subject == "Refund 1 of sale 1 · Магазин Альфа"
    assert unknown.status_code == 404
    assert bad.status_code == 400
    assert "email" in bad.json()
    assert len(mail.outbox) == 1


def test_another_stores_user_sees_no_receipt(moscow_sale, store_b, client_for):
    outsider = client_for(store_b.owner, moscow_sale.store)
    own = client_for(store_b.owner, store_b.store)

    assert outsider.get(receipt_url()).status_code == 403
    assert (
        outsider.post("/api/sales/1/receipt/email/", {"email": "a@example.com"}).status_code == 403
    )
    assert own.get(receipt_url()).status_code == 404  # B has no sale 1
    assert not mail.outbox


def test_the_store_sets_its_locale_and_receipt_texts(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)

    changed = client.patch(
        "/api/store/",
        {"locale": "de-CH", "receipt_header": "Bahnhofstrasse 1", "tax_id": " CHE-123 "},
    )
    unknown = client.patch("/api/store/", {"locale": "xx"})
    too_long = client.patch("/api/store/", {"receipt_footer": "x" * 501})

    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["locale"], body["receipt_header"], body["tax_id"]) == (
        "de_CH",
        "Bahnhofstrasse 1",
        "CHE-123",
    )
    assert unknown.status_code == 400
    assert "locale" in unknown.json()
    assert too_long.status_code == 400
    store_a.store.refresh_from_db()
    assert store_a.store.receipt_footer == ""
