"""Catalog imports: a CSV or XLSX file upserts the store's products, as a job.

A row is matched by its `sku`; else by its `barcode`; else, for a row with neither, by its name
among the products that have neither either. Two passes:

1. **Check.** The file is read row by row; every cell is checked by the API's fields, every
   row against the catalog as it is and against the rows above it (a sku, a barcode or a
   product twice in the file is an error on the later row). What each good row will do is
   written to a spool file beside the upload. The report (created, updated, unchanged, and
   every error with its row and column) comes from this pass: `dry_run` stops here, and so does
   a file with any error, unless `partial`.
2. **Write**, in one transaction: nothing of it is seen before all of it is. The catalog's
   change counter is taken first, then the products to update are locked in id order (the order
   checkouts lock them in, so the two never deadlock); categories are made as the paths need;
   the spool is applied batch by batch (`catalog.bulk`), stock set by `count` movements through
   the stock ledger; the `product.changed` events are written last, as every event is.

Memory holds one batch, and the codes seen so far (to find repeats), never the file.
"""

import json
import logging
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from analytics.exports import category_paths
from analytics.imports.reading import FileRefused, sheet_open
from analytics.imports.rows import Columns, Problem, RowFields, columns_of, row_values
from catalog.bulk import products_write
from catalog.changes import versions_take
from catalog.events import product_changed_data
from catalog.exceptions import InsufficientStock, StockOutOfRange
from catalog.models import Category, Product, StockMovement
from catalog.services import StockChange, category_create, stock_apply
from core.events import PRODUCT_CHANGED, event_encoded, events_emit_encoded
from stores.models import User
from stores.tenancy import current_store

logger = logging.getLogger(__name__)

BATCH = 1000
# Errors listed in the report; `error_count` counts them all.
MAX_LISTED_ERRORS = 1000
EVENT_PAGE = 2000
# Product fields a row sets as they are (category and stock are resolved on the way).
PLAIN_FIELDS = ("name", "sku", "barcode", "price", "cost", "tax_rate", "reorder_level", "is_active")
_DECIMALS = ("price", "cost", "tax_rate", "reorder_level", "stock")
_LOADED = (
    "pk", "name", "sku", "barcode", "category_id", "price", "cost", "tax_rate", "stock",
    "reorder_level", "is_active", "created_at", "price_changed_at",
)  # fmt: skip


class CatalogChanged(Exception):
    """Someone else wrote a product with the same code while the file was being written."""


@dataclass
class Report:
    """What an import did, or would do: the job's `result`."""

    dry_run: bool
    partial: bool
    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    written: bool = False

    def problem(self, problem: Problem) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(problem.as_dict())

    def as_result(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "error_count": self.error_count,
            "rows": self.rows,
            "written": self.written,
            "dry_run": self.dry_run,
            "partial": self.partial,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "ignored_columns": self.ignored_columns,
        }


def _category_ids() -> dict[tuple[str, ...], int]:
    """Each category's path from the top (("Drinks", "Tea")) to its id."""
    return {path: pk for pk, path in category_paths().items()}


def _changes(
    product: Product, values: dict[str, Any], categories: dict[tuple[str, ...], int]
) -> dict[str, Any]:
    """The fields the row changes in the product (a category not made yet is a change)."""
    changes = {
        name: values[name]
        for name in PLAIN_FIELDS
        if name in values and values[name] != getattr(product, name)
    }
    if "category" in values:
        category = categories.get(values["category"])
        if category is None or category != product.category_id:
            changes["category_id"] = category
    return changes


class _Seen:
    """The codes and products of the rows so far, to refuse a second row for any of them."""

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}

    def clash(self, keys: list[tuple[str, Any]], row: int) -> Problem | None:
        for kind, key in keys:
            earlier = self.rows.get(hash((kind, key)))
            if earlier is not None:
                what = {"pk": "product", "name": "name"}.get(kind, kind)
                shown = f"“{key}”" if kind != "pk" else "this product"
                field_name = kind if kind in ("sku", "barcode", "name") else None
                return Problem(row, field_name, f"Row {earlier} has {what} {shown} too.")
        for kind, key in keys:
            self.rows[hash((kind, key))] = row
        return None


Refusal = tuple[str, str]  # the column, and why


def _match(
    batch: list[tuple[int, dict[str, Any]]],
) -> Callable[[dict[str, Any]], tuple[Product | None, Refusal | None]]:
    """For each row of the batch: the product it updates (None: a new one), or why it cannot."""
    skus = {values["sku"] for _, values in batch if "sku" in values}
    barcodes = {values["barcode"] for _, values in batch if "barcode" in values}
    names = {
        values["name"] for _, values in batch if "sku" not in values and "barcode" not in values
    }
    found = Product.objects.filter(
        Q(sku__in=skus)
        | Q(barcode__in=barcodes)
        | Q(name__in=names, sku__isnull=True, barcode__isnull=True)
    ).only(*_LOADED)
    by_sku: dict[str, Product] = {}
    by_barcode: dict[str, Product] = {}
    by_name: dict[str, list[Product]] = {}
    for product in found:
        if product.sku is not None:
            by_sku[product.sku] = product
        if product.barcode is not None:
            by_barcode[product.barcode] = product
        if product.sku is None and product.barcode is None:
            by_name.setdefault(product.name, []).append(product)

    def match(values: dict[str, Any]) -> tuple[Product | None, Refusal | None]:  # noqa: PLR0911
        sku, barcode = values.get("sku"), values.get("barcode")
        holder = by_barcode.get(barcode) if barcode is not None else None
        if sku is not None:
            product = by_sku.get(sku)
            if product is None and holder is not None:
                if holder.sku is not None:
                    why = f"This barcode is “{holder.name}”'s (sku {holder.sku})."
                    return None, ("barcode", why)
                return holder, None  # the product with this barcode gets its sku
            if holder is not None and holder is not product:
                return None, ("barcode", f"This barcode is another product's: “{holder.name}”.")
            return product, None
        if barcode is not None:
            return holder, None
        named = by_name.get(values["name"], [])
        if len(named) > 1:
            why = f"{len(named)} products have this name: give each a sku or a barcode."
            return None, ("name", why)
        return (named[0] if named else None), None

    return match


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()
    }


def _decode(values: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(values)
    for name in _DECIMALS:
        if decoded.get(name) is not None:
            decoded[name] = Decimal(decoded[name])
    if "category" in decoded:
        decoded["category"] = tuple(decoded["category"])
    return decoded


class _Check:
    """The first pass: the report, and the spool of what the good rows do."""

    def __init__(self, *, report: Report, spool: Any, comma_decimals: bool) -> None:
        self.report = report
        self.spool = spool
        self.comma_decimals = comma_decimals
        self.store = current_store()
        self.fields = RowFields()
        self.categories = _category_ids()
        self.seen = _Seen()
        self.updates = array("q")  # the ids of the products to lock, for the second pass
        self.new_categories: set[tuple[str, ...]] = set()

    def batch(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        match = _match(batch)
        for row, values in batch:
            product, refusal = match(values)
            if refusal is not None:
                self.report.problem(Problem(row, *refusal))
                continue
            stock = values.get("stock")
            if stock is not None and stock < 0 and not self.store.allow_negative_stock:
                self.report.problem(Problem(row, "stock", "This store allows no negative stock."))
                continue
            keys = [(kind, values[kind]) for kind in ("sku", "barcode") if kind in values]
            keys.append(("pk", product.pk) if product else ("name", values["name"]))
            if product is None and len(keys) > 1:
                keys.pop()  # a new product with a code: its code says which it is
            clash = self.seen.clash(keys, row)
            if clash is not None:
                self.report.problem(clash)
                continue
            path = values.get("category")
            if path is not None and path not in self.categories:
                self.new_categories.add(path)
            if product is None:
                self.report.created += 1
            elif _changes(product, values, self.categories) or (
                stock is not None and stock != product.stock
            ):
                self.report.updated += 1
                self.updates.append(product.pk)
            else:
                self.report.unchanged += 1
                continue
            record = {"row": row, "pk": product.pk if product else None, "values": _encode(values)}
            self.spool.write(json.dumps(record, separators=(",", ":")) + "\n")


def _check(
    path: Path, *, report: Report, spool: Any, progress: Callable[[int], None]
) -> _Check | None:
    """Read and check the whole file; None when it cannot be read at all."""
    try:
        with sheet_open(path) as sheet:
            report.format, report.encoding, report.delimiter = (
                sheet.format, sheet.encoding, sheet.delimiter
            )  # fmt: skip
            header = next(sheet.rows, None)
            if header is None:
                report.problem(Problem(None, None, "The file is empty."))
                return None
            columns, problems = columns_of(header)
            report.ignored_columns = columns.ignored
            for problem in problems:
                report.problem(problem)
            if problems:
                return None
            check = _Check(
                report=report, spool=spool, comma_decimals=sheet.delimiter not in (None, ",")
            )
            _check_rows(sheet.rows, columns, check, sheet.size_hint, progress)
            return check
    except FileRefused as refusal:
        report.problem(Problem(refusal.row, None, str(refusal)))
        return None


def _check_rows(
    rows: Iterator[tuple[Any, ...]],
    columns: Columns,
    check: _Check,
    size_hint: int | None,
    progress: Callable[[int], None],
) -> None:
    report = check.report
    limit = settings.IMPORT_MAX_ROWS
    batch: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(rows, start=2):
        if not any(cell not in (None, "") for cell in cells):
            continue  # an empty row (spreadsheets end with some)
        report.rows += 1
        if report.rows > limit:
            raise FileRefused(f"A file holds at most {limit} rows.", row=number)
        values, problems = row_values(
            cells,
            columns=columns,
            fields=check.fields,
            comma_decimals=check.comma_decimals,
            row=number,
        )
        for problem in problems:
            report.problem(problem)
        if not problems:
            batch.append((number, values))
        if len(batch) >= BATCH:
            check.batch(batch)
            batch = []
            progress(min(49, number * 50 // max(size_hint or number, number)))
    if batch:
        check.batch(batch)


def _spooled(spool: Any) -> Iterator[list[dict[str, Any]]]:
    spool.seek(0)
    batch: list[dict[str, Any]] = []
    for line in spool:
        record = json.loads(line)
        record["values"] = _decode(record["values"])
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _lock_for_import() -> None:
    """One import at a time per store: a second waits for the first to commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"{connection.schema_name}.catalog.import"],
        )


def _make_categories(paths: set[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """The store's categories by path, with those of `paths` made (and their parents)."""
    categories = _category_ids()
    for path in sorted(paths):
        for depth in range(1, len(path) + 1):
            node = path[:depth]
            if node not in categories:
                parent = categories.get(node[:-1]) if depth > 1 else None
                categories[node] = category_create(
                    name=node[-1], parent=Category(pk=parent) if parent else None
                ).pk
    return categories


def _write(*, spool: Any, events: Any, check: _Check, user: User | None, report: Report) -> None:
    """The second pass, in the caller's transaction; the counts are what it wrote. The events
    are spooled to `events` (a text file) as the batches are written, and emitted last."""
    report.created = report.updated = 0
    unchanged = report.unchanged
    _lock_for_import()
    versions_take(0)  # the catalog's counter before the products, as every catalog write takes them
    ids = sorted(set(check.updates))
    for start in range(0, len(ids), 5000):
        list(
            Product.objects.filter(pk__in=ids[start : start + 5000])
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
    categories = _make_categories(check.new_categories)
    for batch in _spooled(spool):
        locked = Product.objects.in_bulk([r["pk"] for r in batch if r["pk"] is not None])
        created: list[Product] = []
        updated: list[tuple[Product, dict[str, Any]]] = []
        counts: dict[int, Decimal] = {}
        targets: list[tuple[Product, Decimal]] = []
        for record in batch:
            values = record["values"]
            product = locked.get(record["pk"]) if record["pk"] is not None else None
            if record["pk"] is not None and product is None:
                raise CatalogChanged("A product of the file was deleted while it was imported.")
            if product is None:
                product = Product(
                    **{name: values[name] for name in PLAIN_FIELDS if name in values},
                    category_id=categories.get(values.get("category")),
                )
                created.append(product)
            else:
                changes = _changes(product, values, categories)
                if changes:
                    updated.append((product, changes))
            if values.get("stock") is not None:
                targets.append((product, values["stock"]))
        products_write(created=created, updated=updated)
        for product, stock in targets:
            if stock != product.stock:
                counts[product.pk] = stock - product.stock
        changed = sorted(product.pk for product, _ in updated)
        touched = (set(changed) | set(counts)) - {product.pk for product in created}
        report.created += len(created)
        report.updated += len(touched)
        unchanged += len(batch) - len(created) - len(touched)
        low: list[tuple[str, dict[str, Any]]] = []
        if counts:
            products = {product.pk: product for product, _ in targets}
            stock_apply(
                changes=[StockChange(product_id=pk, delta=delta) for pk, delta in counts.items()],
                reason=StockMovement.Reason.COUNT,
                user=user,
                note="Catalog import",
                locked_products=products,
                events=low,
            )
        # A count alone is no change of the product's card: no `product.changed` for it.
        _spool_events(
            events,
            [
                *((PRODUCT_CHANGED, product_changed_data(p, change="created")) for p in created),
                *((PRODUCT_CHANGED, product_changed_data(p, change="updated")) for p, _ in updated),
                *low,
            ],
        )
    report.unchanged = unchanged
    _emit(events)


def _spool_events(events: Any, batch: list[tuple[str, dict[str, Any]]]) -> None:
    events.writelines(f"{kind}\t{event_encoded(data)}\n" for kind, data in batch)


def _emit(events: Any) -> None:
    """The spooled events, page by page, last in the transaction."""
    events.seek(0)
    page: list[tuple[str, str]] = []
    for line in events:
        kind, data = line.rstrip("\n").split("\t", 1)
        page.append((kind, data))
        if len(page) >= EVENT_PAGE:
            events_emit_encoded(page)
            page = []
    events_emit_encoded(page)


def catalog_import(
    *,
    path: Path,
    dry_run: bool = False,
    partial: bool = False,
    user: User | None = None,
    progress: Callable[[int], None] = lambda percent: None,
) -> Report:
    """Import the catalog file at `path` into the active store: the report of what it did (or,
    for `dry_run`, would do). Nothing is written when the file has any error, unless `partial`:
    then the good rows are."""
    report = Report(dry_run=dry_run, partial=partial)
    spool_path = path.with_name(path.name + ".spool")
    events_path = path.with_name(path.name + ".events")
    try:
        with (
            spool_path.open("w+", encoding="utf-8") as spool,
            events_path.open("w+", encoding="utf-8") as events,
        ):
            check = _check(path, report=report, spool=spool, progress=progress)
            if check is None or dry_run or (report.error_count and not partial):
                return report
            progress(50)
            try:
                with transaction.atomic():
                    _write(spool=spool, events=events, check=check, user=user, report=report)
            except (IntegrityError, ValidationError) as error:
                raise CatalogChanged(
                    "Another change of the catalog used a sku or barcode of the file while it "
                    "was imported; nothing was written. Import it again."
                ) from error
            except (InsufficientStock, StockOutOfRange) as error:
                raise CatalogChanged(
                    "Stock changed while the file was imported; nothing was written. "
                    "Import it again."
                ) from error
            report.written = True
            return report
    finally:
        spool_path.unlink(missing_ok=True)
        events_path.unlink(missing_ok=True)
