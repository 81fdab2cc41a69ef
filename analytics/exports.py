"""Exports of a store's data as CSV or XLSX files, written by a job, page by page.

Rows are read in pages by primary key (`id > last ORDER BY id LIMIT n`), never as one result:
the worker's memory stays flat at any size, with or without server-side cursors (behind
PgBouncer in transaction mode there are none). CSV is UTF-8 with a byte-order mark (Excel
reads it as UTF-8); XLSX is written by openpyxl in write-only mode, row by row. Text that
people typed and that a spreadsheet would take for a formula (a cell beginning with `=`, `+`,
`-`, `@`, a tab or a carriage return) is prefixed with `'` (CSV injection).
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Model, QuerySet
from openpyxl import Workbook

from catalog.models import Category, Product, StockMovement
from core.money import format_money
from customers.models import Customer
from sales.models import Sale, SaleLine
from stores.clock import local_midnight
from stores.tenancy import current_store

PAGE = 5000
KINDS = ("products", "customers", "sales", "sale_lines", "stock_movements")
FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """Text a spreadsheet shows and never runs: `=HYPERLINK(…)` becomes `'=HYPERLINK(…)`."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class Text(str):
    """A cell of text that people typed: neutralised on the way out."""


@dataclass(frozen=True)
class Export:
    """One kind of export: its header, its rows (as a queryset to page through), and how a row
    becomes cells."""

    header: tuple[str, ...]
    rows: Callable[[datetime | None, datetime | None], QuerySet]
    cells: Callable[[Model, "Context"], tuple]


@dataclass
class Context:
    currency: str
    zone: ZoneInfo
    categories: dict[int, str]

    def money(self, value: Decimal | None) -> str | None:
        return None if value is None else format_money(value, self.currency)

    def moment(self, value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(self.zone).isoformat()


def _quantity(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.001")), "f")


def _in_range(queryset: QuerySet, start: datetime | None, end: datetime | None) -> QuerySet:
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    return queryset


def category_paths() -> dict[int, tuple[str, ...]]:
    """Each category's path from the top (("Drinks", "Tea")), as imports take it."""
    rows = {
        pk: (name, parent)
        for pk, name, parent in Category.objects.values_list("pk", "name", "parent_id")
    }
    paths: dict[int, tuple[str, ...]] = {}

    def path(pk: int, depth: int = 0) -> tuple[str, ...]:
        if pk not in paths:
            name, parent = rows[pk]
            above = () if parent is None or depth > 50 else path(parent, depth + 1)
            paths[pk] = (*above, name)
        return paths[pk]

    for pk in rows:
        path(pk)
    return paths


def _category_paths() -> dict[int, str]:
    return {pk: "/".join(path) for pk, path in category_paths().items()}


EXPORTS: dict[str, Export] = {
    # The columns a catalog import reads: a store's export imports into another as it is.
    "products": Export(
        header=("name", "sku", "barcode", "category", "price", "cost", "tax_rate", "stock",
                "reorder_level", "is_active"),
        rows=lambda start, end: _in_range(Product.objects.all(), start, end),
        cells=lambda p, c: (
            Text(p.name), Text(p.sku or ""), Text(p.barcode or ""),
            Text(c.categories.get(p.category_id, "")), c.money(p.price), c.money(p.cost),
            format(p.tax_rate, "f"), _quantity(p.stock), _quantity(p.reorder_level),
            p.is_active,
        ),
    ),
    "customers": Export(
        header=("id", "name", "phone", "email", "note", "total_spent", "visits",
                "last_purchase_at", "created_at"),
        rows=lambda start, end: _in_range(Customer.objects.all(), start, end),
        cells=lambda x, c: (
            x.pk, Text(x.name), Text(x.phone), Text(x.email), Text(x.note),
            c.money(x.total_spent), x.visits, c.moment(x.last_purchase_at), c.moment(x.created_at),
        ),
    ),
    "sales": Export(
        header=("id", "number", "created_at", "register", "shift", "customer", "source",
                "offline_number", "subtotal", "discount_total", "tax_total", "total",
                "cash_rounding", "paid_total", "change_due", "refunded_total", "note"),
        rows=lambda start, end: _in_range(Sale.objects.all(), start, end),
        cells=lambda s, c: (
            s.pk, s.number, c.moment(s.created_at), s.register_id, s.shift_id, s.customer_id,
            s.source, Text(s.offline_number), c.money(s.subtotal), c.money(s.discount_total),
            c.money(s.tax_total), c.money(s.total), c.money(s.cash_rounding),
            c.money(s.paid_total), c.money(s.change_due), c.money(s.refunded_total), Text(s.note),
        ),
    ),
    "sale_lines": Export(
        header=("id", "sale", "sale_number", "sold_at", "product", "sku", "name", "quantity",
                "unit_price", "discount", "tax_rate", "tax_amount", "total",
                "refunded_quantity", "refunded_amount"),
        rows=lambda start, end: SaleLine.objects.select_related("sale").filter(
            **({"sale__created_at__gte": start} if start else {}),
            **({"sale__created_at__lt": end} if end else {}),
        ),
        cells=lambda line, c: (
            line.pk, line.sale_id, line.sale.number, c.moment(line.sale.created_at),
            line.product_id, Text(line.sku), Text(line.name), _quantity(line.quantity),
            c.money(line.unit_price), c.money(line.discount), format(line.tax_rate, "f"),
            c.money(line.tax_amount), c.money(line.total), _quantity(line.refunded_quantity),
            c.money(line.refunded_amount),
        ),
    ),
    "stock_movements": Export(
        header=("id", "created_at", "product", "delta", "reason", "note", "sale", "refund"),
        rows=lambda start, end: _in_range(StockMovement.objects.all(), start, end),
        cells=lambda m, c: (
            m.pk, c.moment(m.created_at), m.product_id, _quantity(m.delta), m.reason,
            Text(m.note), m.sale_id, m.refund_id,
        ),
    ),
}  # fmt: skip


def _pages(queryset: QuerySet) -> Iterator[list[Model]]:
    last = 0
    while True:
        page = list(queryset.filter(pk__gt=last).order_by("pk")[:PAGE])
        if not page:
            return
        yield page
        last = page[-1].pk


def _cell(value: Any) -> Any:
    if isinstance(value, Text):
        return neutralised(str(value))
    return value


def export_write(
    *,
    kind: str,
    first: date | None,
    last: date | None,
    format: str,
    path: Path,
    progress: Callable[[int], None] = lambda percent: None,
) -> dict[str, Any]:
    """Write the export to `path`; what the job reports: rows, format, file name."""
    store = current_store()
    export = EXPORTS[kind]
    start = local_midnight(first, store=store) if first else None
    end = local_midnight(last + timedelta(days=1), store=store) if last else None
    context = Context(
        currency=store.currency,
        zone=ZoneInfo(store.timezone),
        categories=_category_paths() if kind == "products" else {},
    )
    queryset = export.rows(start, end)
    total = queryset.count() or 1
    written = 0
    temporary = path.with_suffix(path.suffix + ".part")
    if format == "csv":
        with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(export.header)
            for page in _pages(queryset):
                writer.writerows([_cell(v) for v in export.cells(row, context)] for row in page)
                written += len(page)
                progress(min(99, written * 100 // total))
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(kind)
        sheet.append(export.header)
        for page in _pages(queryset):
            for row in page:
                sheet.append([_cell(v) for v in export.cells(row, context)])
            written += len(page)
            progress(min(99, written * 100 // total))
        book.save(temporary)
    temporary.replace(path)  # whole or not at all: a download never sees half a file
    stamp = (first.isoformat() if first else "all") + (f"_{last.isoformat()}" if last else "")
    return {
        "kind": kind,
        "format": format,
        "extension": format,
        "rows": written,
        "filename": f"{store.slug}-{kind}-{stamp}.{format}",
        "bytes": path.stat().st_size,
    }
